import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type Redis from 'ioredis';
import { runBackup } from '../../../lambda/backup';
import { verifyRdbFile } from '../../../lambda/shared/rdb';
import { RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { backupUser, clockFrom, recorder, tap } from '../helpers/backup-deps';
import { dumpDatabase, expectSameDataset, populate, populateBulk } from '../helpers/dataset';
import { PlainRedis } from '../helpers/plain-redis';
import { download, redisCheckRdb } from '../helpers/rdb';

/** A source server: the project's own config, or (checksum off) the project config + rdbchecksum no. */
interface Source {
  readonly port: number;
  client(db?: number): Redis;
  cleanup(): Promise<void>;
}

async function startSource(rdbchecksum: boolean): Promise<Source> {
  if (rdbchecksum) {
    const redis = await RedisProcess.start();
    return {
      port: redis.port,
      client: (db = 0) => redis.client('default', { db }),
      cleanup: () => redis.cleanup(),
    };
  }
  // rdbchecksum is immutable at runtime, and the entrypoint takes no config: a config file.
  return PlainRedis.start({ projectConfig: true, users: true, config: ['rdbchecksum no'] });
}

describe('runBackup round trip: Redis -> S3 -> a fresh Redis holds the same dataset', () => {
  let s3: S3Server;
  let dir: string;

  beforeAll(async () => {
    s3 = await S3Server.start();
    dir = makeTempDir('backup-round-trip');
  });
  afterAll(async () => {
    await s3.cleanup();
    removeTempDir(dir);
  });

  it.each([
    { mode: 'diskless', rdbchecksum: true, day: '2026-11-25T02:00:00.250Z' },
    { mode: 'disk', rdbchecksum: true, day: '2026-11-26T02:00:00Z' },
    { mode: 'diskless', rdbchecksum: false, day: '2026-11-27T02:00:00Z' },
    { mode: 'disk', rdbchecksum: false, day: '2026-11-28T02:00:00Z' },
  ])('$mode mode, rdbchecksum $rdbchecksum', async ({ mode, rdbchecksum, day }) => {
    const source = await startSource(rdbchecksum);
    let restored: PlainRedis | undefined;
    try {
      await source.client().config('SET', 'repl-diskless-sync', mode === 'diskless' ? 'yes' : 'no');
      await populate(source.client(), source.client(1));
      const expected0 = await dumpDatabase(source.client());
      const expected1 = await dumpDatabase(source.client(1));
      const { logger, metrics, logs, metricCalls } = recorder();

      const deps = {
        redis: backupUser(source.port),
        s3: s3.client,
        bucket: s3.bucket,
        prefix: 'redis-backups',
        stage: 'dev',
        logger,
        metrics,
        clock: clockFrom(day),
      };
      if (!rdbchecksum) {
        // Without a checksum nothing proves the bytes: refused unless explicitly allowed.
        const keysBefore = await s3.listKeys();
        const refused = recorder();
        await expect(
          runBackup({ ...deps, logger: refused.logger, metrics: refused.metrics }),
        ).rejects.toThrow(/no checksum \(all-zero trailer\)/);
        expect(refused.metricCalls).toEqual([['BackupFailed', 'Count', 1]]);
        expect(await s3.listKeys()).toEqual(keysBefore);
      }
      const result = await runBackup({ ...deps, allowMissingChecksum: !rdbchecksum });

      const date = day.slice(0, 10).replace(/-/g, '/');
      const stamp = `${day.slice(0, 10).replace(/-/g, '')}T020000Z`;
      expect(result).toMatchObject({
        bucket: s3.bucket,
        key: `redis-backups/dev/${date}/${stamp}.rdb`,
        rdbVersion: 10,
        redisVersion: '7.0.15',
        keys: expected0.size + expected1.size,
        checksum: rdbchecksum ? 'verified' : 'disabled',
        framing: mode,
        tagged: true,
      });
      expect(result.crc64).toMatch(/^[0-9a-f]{16}$/);
      expect(result.durationMs).toBeGreaterThanOrEqual(0);

      // The object: byte-identical to what was verified, accepted by redis-check-rdb.
      const file = join(dir, `${stamp}.rdb`);
      const object = await download(s3.client, s3.bucket, result.key, file);
      expect(object.length).toBe(result.bytes);
      expect(await verifyRdbFile(file, { allowMissingChecksum: !rdbchecksum })).toEqual({
        bytes: result.bytes,
        rdbVersion: 10,
        crc64: result.crc64,
        checksum: result.checksum,
      });
      const check = redisCheckRdb(file);
      expect(check.output).toContain('RDB looks OK');
      expect(check.ok).toBe(true);

      // Metadata set when the upload starts; the end-of-backup values as tags.
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: result.key }));
      expect(head.ContentLength).toBe(result.bytes);
      expect(head.Metadata).toMatchObject({
        'redis-version': '7.0.15',
        'rdb-version': '10',
        keys: String(result.keys),
        stage: 'dev',
        framing: mode,
      });
      const tags = await s3.client.send(new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: result.key }));
      expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toEqual({
        bytes: String(result.bytes),
        crc64: result.crc64,
        checksum: result.checksum,
        'duration-ms': String(result.durationMs),
      });

      // A fresh Redis loading the snapshot holds exactly the source's dataset.
      restored = await PlainRedis.start({ rdbFile: file, config: ['appendonly no', 'save ""'] });
      expectSameDataset(await dumpDatabase(restored.client()), expected0);
      expectSameDataset(await dumpDatabase(restored.client(1)), expected1);

      expect(metricCalls).toEqual([
        ['BackupSucceeded', 'Count', 1],
        ['BackupBytes', 'Bytes', result.bytes],
        ['BackupDurationMs', 'Milliseconds', result.durationMs],
      ]);
      expect(JSON.stringify(logs)).not.toContain('password');
      expect(logs.map((l) => l.message)).toContain('backup complete');
    } finally {
      await restored?.cleanup();
      await source.cleanup();
    }
  });

  it('takes a consistent snapshot while clients keep writing', async () => {
    const source = await RedisProcess.start();
    let restored: PlainRedis | undefined;
    let writing = true;
    let writes = 0;
    const writer = source.client();
    const load = (async () => {
      while (writing) {
        const n = writes++;
        // Each transaction keeps an invariant: counter == LLEN log == number of item keys.
        await writer
          .multi()
          .incr('tx:counter')
          .rpush('tx:log', String(n))
          .set(`tx:item:${n}`, String(n))
          .exec();
      }
    })();
    try {
      await populateBulk(source.client(), 8, 64);
      const writesBefore = writes;
      const { logger } = recorder();
      const result = await runBackup({
        redis: backupUser(source.port),
        s3: s3.client,
        bucket: s3.bucket,
        prefix: 'redis-backups',
        stage: 'concurrent',
        logger,
        clock: clockFrom('2026-11-29T03:00:00Z'),
        // Slow the transfer down so that plenty of writes happen while it runs.
        interpose: () => tap({ delayMs: 2 }),
        // Two parts: the multipart path, completed.
        partSizeBytes: 5 * 1024 * 1024,
      });
      writing = false;
      await load;
      expect(writes - writesBefore).toBeGreaterThan(50);

      const file = join(dir, 'concurrent.rdb');
      await download(s3.client, s3.bucket, result.key, file);
      expect(redisCheckRdb(file).ok).toBe(true);
      restored = await PlainRedis.start({ rdbFile: file, config: ['appendonly no', 'save ""'] });
      const copy = restored.client();
      const counter = Number(await copy.get('tx:counter'));
      expect(counter).toBeGreaterThan(0);
      expect(counter).toBeLessThan(writes); // a point in time before the end of the load...
      expect(await copy.llen('tx:log')).toBe(counter); // ...with every transaction whole
      expect(await copy.lrange('tx:log', -1, -1)).toEqual([String(counter - 1)]);
      const items = await copy.keys('tx:item:*');
      expect(items.length).toBe(counter);
      expect(await copy.dbsize()).toBe(counter + 2 + 128); // + counter, log, 8 MB in 64 KiB values
    } finally {
      writing = false;
      await load.catch(() => {});
      await restored?.cleanup();
      await source.cleanup();
    }
  });

  it('accepts Powertools Logger and Metrics as they are', async () => {
    const source = await RedisProcess.start();
    try {
      await source.client().set('k', 'v');
      const logger = new Logger({ serviceName: 'redis-backup', logLevel: 'SILENT' });
      const metrics = new Metrics({ namespace: 'RedisOnEcsTest', serviceName: 'redis-backup' });
      const result = await runBackup({
        redis: backupUser(source.port),
        s3: s3.client,
        bucket: s3.bucket,
        prefix: '',
        stage: 'powertools',
        logger,
        metrics,
      });
      expect(result.key).toMatch(/^powertools\/\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z\.rdb$/);
      expect(result.keys).toBe(1);
    } finally {
      await source.cleanup();
    }
  });
});
