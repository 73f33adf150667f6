import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  checkRestoredKeys,
  judgeKeyCount,
  KeyCountMismatch,
  RedisUnavailable,
} from '../../../lambda/restore/check-keys';
import { SnapshotNotFound, SnapshotRefused, verifySnapshot } from '../../../lambda/restore/verify-snapshot';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { Scratch } from '../../support/scratch';
import { dumpDatabase, expectSameDataset, populate } from '../helpers/dataset';
import { fetchRdb } from '../helpers/rdb';

// This machine runs Node 20: the SDK's notice about Node 22 is not this test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function flipped(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

const context = (remainingMs = 600_000) =>
  ({ getRemainingTimeInMillis: () => remainingMs, functionName: 'restore' }) as unknown as Context;

// The three restore functions (verify, install/reinstate, check) and their cores, against a real
// S3-compatible server, a real data directory standing in for /mnt/data and real redis-servers.
// Only Secrets Manager is mocked (an AWS API that cannot run here).
describe('restore functions', () => {
  let s3: S3Server;
  let source: RedisProcess;
  let snapshot: Buffer;
  let expected: Awaited<ReturnType<typeof dumpDatabase>>;
  let expectedKeys: number;
  const secrets = mockClient(SecretsManagerClient);
  const scratch = new Scratch();
  let restore: typeof import('../../../lambda/restore/handler').handler;
  let verify: typeof import('../../../lambda/restore-verify/handler').handler;
  let check: typeof import('../../../lambda/restore-check/handler').handler;
  let writeSpy: jest.SpyInstance;

  const KEY = 'snapshots/dev/2026/11/25/20261125T020000Z.rdb';

  async function put(key: string, body: Buffer, metadata: Record<string, string> = {}): Promise<void> {
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, Metadata: metadata }),
    );
  }

  beforeAll(async () => {
    [s3, source] = await Promise.all([S3Server.start(), RedisProcess.start()]);
    await populate(source.client(), source.client('default', { db: 1 }));
    expected = await dumpDatabase(source.client());
    expectedKeys = (await source.client().dbsize()) + (await source.client('default', { db: 1 }).dbsize());
    snapshot = await fetchRdb(source.port);
    await put(KEY, snapshot, { keys: String(expectedKeys), 'redis-version': '7.0.15', 'rdb-version': '10' });
    Object.assign(process.env, {
      STAGE: 'dev',
      BUCKET_NAME: s3.bucket,
      SNAPSHOT_PREFIX: 'snapshots',
      S3_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      MONITOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monitor',
      REDIS_HOST: '127.0.0.1',
    });
    ({ handler: restore } = await import('../../../lambda/restore/handler'));
    ({ handler: verify } = await import('../../../lambda/restore-verify/handler'));
    ({ handler: check } = await import('../../../lambda/restore-check/handler'));
  });
  afterAll(async () => {
    await Promise.all([s3.cleanup(), source.cleanup()]);
  });
  beforeEach(() => {
    // The functions' JSON logs (Powertools) are not this test's output.
    writeSpy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    writeSpy.mockRestore();
    await scratch.cleanup();
  });

  describe('verify', () => {
    it('reads a snapshot end to end and returns its facts and keys metadata', async () => {
      const result = await verifySnapshot({ s3: s3.client, bucket: s3.bucket, key: KEY });
      expect(result).toMatchObject({
        bucket: s3.bucket,
        key: KEY,
        bytes: snapshot.length,
        rdbVersion: 10,
        checksum: 'verified',
        expectedKeys,
        redisVersion: '7.0.15',
      });
    });

    it.each([
      ['one flipped byte', (b: Buffer) => flipped(b, Math.floor(b.length / 2)), /checksum|CRC/i],
      ['a truncated object', (b: Buffer) => b.subarray(0, b.length - 50), /truncated/],
      [
        'a newer RDB format',
        (b: Buffer) => Buffer.concat([Buffer.from('REDIS0012'), b.subarray(9)]),
        /version 12/,
      ],
    ])(
      'refuses %s (SnapshotRefused, so the restore ends before touching anything)',
      async (_case, edit, why) => {
        const key = `snapshots/dev/2026/11/25/bad-${Math.random().toString(36).slice(2)}.rdb`;
        await put(key, edit(snapshot));
        const attempt = verifySnapshot({ s3: s3.client, bucket: s3.bucket, key });
        await expect(attempt).rejects.toThrow(SnapshotRefused);
        await expect(attempt).rejects.toThrow(why);
      },
    );

    it('reports a missing snapshot as SnapshotNotFound', async () => {
      await expect(
        verifySnapshot({ s3: s3.client, bucket: s3.bucket, key: 'snapshots/dev/nope.rdb' }),
      ).rejects.toThrow(SnapshotNotFound);
    });

    it('the handler verifies the execution input and refuses keys outside the snapshot prefix', async () => {
      await expect(verify({ key: KEY }, context())).resolves.toMatchObject({ key: KEY, expectedKeys });
      await expect(verify({ key: 'other/secret.txt' }, context())).rejects.toMatchObject({
        name: 'InvalidRestoreInput',
      });
      await expect(verify({} as { key: string }, context())).rejects.toMatchObject({
        name: 'InvalidRestoreInput',
      });
    });
  });

  describe('restore (install and reinstate on a real directory standing in for /mnt/data)', () => {
    const restoreTime = '2026-11-25T03:00:00.123Z';

    it('installs the snapshot: Redis with appendonly yes then loads it; reinstate puts the old data back', async () => {
      const dir = await scratch.oldDataDir(30);
      process.env.DATA_DIR = dir;
      const installed = await restore({ action: 'install', snapshot: { key: KEY }, restoreTime }, context());
      expect(installed).toMatchObject({
        action: 'install',
        source: `s3://${s3.bucket}/${KEY}`,
        bytes: snapshot.length,
        rdbVersion: 10,
        installedAs: expect.stringMatching(/^appendonlydir\/appendonly\.aof\.\d+\.base\.rdb$/),
        previousData: 'pre-restore-20261125T030000Z',
      });
      const restored = await scratch.redis(dir);
      expectSameDataset(await dumpDatabase(restored.client()), expected);
      await restored.stop();

      const undone = await restore({ action: 'reinstate', restoreTime }, context());
      expect(undone).toMatchObject({
        action: 'reinstate',
        reinstated: true,
        previousData: 'pre-restore-20261125T030000Z',
        setAside: expect.stringMatching(/^undone-restore-\d{8}T\d{6}Z$/),
        summary: expect.stringMatching(/previous data \(pre-restore-20261125T030000Z\/\) is back in place/),
      });
      const back = await scratch.redis(dir);
      expect(await back.client().dbsize()).toBe(30);
      await back.stop();

      // Retried by the state machine: the second undo changes nothing.
      await expect(restore({ action: 'reinstate', restoreTime }, context())).resolves.toMatchObject({
        reinstated: false,
        summary: expect.stringMatching(/^nothing to put back/),
      });
    });

    it('reinstate after an install that never started has nothing to put back', async () => {
      process.env.DATA_DIR = await scratch.oldDataDir(3);
      await expect(
        restore({ action: 'reinstate', restoreTime: '2026-11-25T04:00:00Z' }, context()),
      ).resolves.toMatchObject({
        reinstated: false,
        summary: expect.stringMatching(/no pre-restore-20261125T040000Z\//),
      });
    });

    it('gives up the download before the Lambda deadline, leaving the old data in place', async () => {
      const dir = await scratch.oldDataDir(7);
      process.env.DATA_DIR = dir;
      const before = readdirSync(join(dir, 'appendonlydir')).sort();
      await expect(
        restore({ action: 'install', snapshot: { key: KEY }, restoreTime }, context(30_000)),
      ).rejects.toThrow(/time is running out|abort/i);
      expect(readdirSync(join(dir, 'appendonlydir')).sort()).toEqual(before);
      expect(existsSync(join(dir, 'pre-restore-20261125T030000Z'))).toBe(false);
      const redis = await scratch.redis(dir);
      expect(await redis.client().dbsize()).toBe(7);
    });
  });

  describe('check', () => {
    it('judges by what Redis loaded: within 1% (at least 2) of the metadata, never 0 of many', () => {
      expect(judgeKeyCount(1000, 1000, 0)).toMatchObject({ ok: true, tolerance: 10 });
      expect(judgeKeyCount(1000, 985, 5)).toMatchObject({ ok: true });
      expect(judgeKeyCount(1000, 989, 0)).toMatchObject({ ok: false });
      expect(judgeKeyCount(1000, 1011, 0)).toMatchObject({ ok: false });
      expect(judgeKeyCount(1, 0, 0)).toMatchObject({ ok: false, message: expect.stringMatching(/EMPTY/) });
      expect(judgeKeyCount(0, 0, 0)).toMatchObject({ ok: true });
      expect(judgeKeyCount(undefined, 5, 0)).toMatchObject({ ok: true });
      expect(judgeKeyCount(undefined, 0, 0)).toMatchObject({ ok: false });
    });

    it('passes a restore whose keys with a TTL expired since the backup', async () => {
      const ttlSource = await scratch.redis(scratch.dir('ttl-source'));
      const p = ttlSource.client().pipeline();
      for (let i = 0; i < 50; i++) p.set(`lasting:${i}`, 'x');
      for (let i = 0; i < 20; i++) p.set(`brief:${i}`, 'x', 'PX', 300);
      await p.exec();
      const rdb = await fetchRdb(ttlSource.port);
      await new Promise((resolve) => setTimeout(resolve, 600)); // the brief keys are past their TTL now
      const dir = scratch.dir('restore-fn');
      const key = 'snapshots/dev/2026/11/25/20261125T050000Z.rdb';
      await put(key, rdb, { keys: '70' });
      process.env.DATA_DIR = dir;
      await restore({ action: 'install', snapshot: { key }, restoreTime: '2026-11-25T05:00:00Z' }, context());
      const restored = await scratch.redis(dir);
      const result = await checkRestoredKeys(
        { host: '127.0.0.1', port: restored.port, username: 'monitor', password: PASSWORDS.monitor },
        70,
      );
      expect(result).toMatchObject({ ok: true, expected: 70 });
      expect(result.loaded + result.expiredOnLoad).toBe(70);
    });

    it('the handler checks as the monitor user, and fails an empty or short Redis with KeyCountMismatch', async () => {
      const dir = scratch.dir('restore-fn');
      process.env.DATA_DIR = dir;
      await restore(
        { action: 'install', snapshot: { key: KEY }, restoreTime: '2026-11-25T06:00:00Z' },
        context(),
      );
      const restored = await scratch.redis(dir);
      await restored.client().incr('ping'); // the health check writes; what was loaded does not change
      process.env.REDIS_PORT = String(restored.port);
      secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORDS.monitor });
      await expect(check({ expectedKeys }, context())).resolves.toMatchObject({
        ok: true,
        expected: expectedKeys,
        loaded: expectedKeys,
        keysNow: expectedKeys + 1,
      });
      await expect(check({ expectedKeys: expectedKeys * 2 }, context())).rejects.toThrow(KeyCountMismatch);

      // The restore trap: a Redis that started empty although the snapshot had keys.
      const empty = await scratch.redis(scratch.dir('restore-fn'));
      process.env.REDIS_PORT = String(empty.port);
      await expect(check({ expectedKeys }, context())).rejects.toThrow(/came up EMPTY/);
    });

    it('reports an unreachable Redis as RedisUnavailable (retried by the state machine)', async () => {
      const port = await freePort();
      await expect(
        checkRestoredKeys({ host: '127.0.0.1', port, username: 'monitor', password: 'x' }, 1, {
          connectTimeoutMs: 200,
        }),
      ).rejects.toThrow(RedisUnavailable);
    });
  });
});
