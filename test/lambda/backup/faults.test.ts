import { runBackup } from '../../../lambda/backup';
import { type BackupDeps, BackupError, deadlineSignal } from '../../../lambda/backup/backup';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { backupUser, dropLast, flipByteAt, recorder, tap } from '../helpers/backup-deps';
import { populateBulk } from '../helpers/dataset';

const MiB = 1024 * 1024;

/**
 * Every fault must end in a rejected promise with a clear message, a BackupFailed metric, and no
 * object in the bucket. The dataset (~16 MiB) is bigger than the 5 MiB parts, so multipart
 * uploads are under way when the faults hit.
 */
describe('runBackup faults: a clear error and no object', () => {
  let s3: S3Server;
  let redis: RedisProcess;

  beforeAll(async () => {
    s3 = await S3Server.start();
    redis = await RedisProcess.start();
    await populateBulk(redis.client(), 16);
  });
  afterAll(async () => {
    await redis.cleanup();
    await s3.cleanup();
  });

  async function expectFailure(overrides: Partial<BackupDeps>, message: RegExp): Promise<BackupError> {
    const { logger, metrics, metricCalls, logs } = recorder();
    const error = await runBackup({
      redis: backupUser(redis.port),
      s3: s3.client,
      bucket: s3.bucket,
      prefix: 'redis-backups',
      stage: 'faults',
      logger,
      metrics,
      partSizeBytes: 5 * MiB,
      queueSize: 2,
      abortGraceMs: 2_000,
      ...overrides,
    }).then(
      () => {
        throw new Error('the backup succeeded but should have failed');
      },
      (e: unknown) => e as BackupError,
    );
    expect(error).toBeInstanceOf(BackupError);
    expect(error.message).toMatch(
      /^backup of Redis (backup|monitor)@127\.0\.0\.1:\d+ to s3:\/\/backups\/redis-backups\/faults\/.+\.rdb failed: /,
    );
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(PASSWORDS.backup);
    expect(metricCalls).toEqual([['BackupFailed', 'Count', 1]]);
    expect(JSON.stringify(logs)).not.toContain(PASSWORDS.backup);
    if (!s3.running) await s3.run();
    expect(await s3.listKeys()).toEqual([]);
    return error;
  }

  it('wrong password', async () => {
    await expectFailure({ redis: backupUser(redis.port, 'wrong-password-0123456789') }, /WRONGPASS/);
  });

  it('a user without SYNC rights (monitor)', async () => {
    await expectFailure(
      { redis: { host: '127.0.0.1', port: redis.port, username: 'monitor', password: PASSWORDS.monitor } },
      /refused REPLCONF: NOPERM/,
    );
  });

  it('a corrupted byte in the stream (after parts were uploaded)', async () => {
    await expectFailure({ interpose: () => flipByteAt(12 * MiB) }, /RDB checksum mismatch/);
  });

  it('a corrupted byte in the header', async () => {
    await expectFailure({ interpose: () => flipByteAt(2) }, /not an RDB/);
  });

  it('a truncated stream', async () => {
    await expectFailure({ interpose: () => dropLast(1000) }, /truncated or has bytes after the end/);
  });

  it('the deadline (Lambda time running out) mid-stream', async () => {
    await expectFailure(
      { signal: deadlineSignal(600, 200), interpose: () => tap({ delayMs: 5 }) },
      /aborted: time is running out: 200 ms before the Lambda timeout/,
    );
  });

  it('an abort signal that already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expectFailure({ signal: controller.signal }, /aborted before the transfer started: shutting down/);
  });

  it('the S3 server failing mid-upload', async () => {
    await expectFailure(
      {
        interpose: () =>
          tap({
            onChunk: async (offset) => {
              if (offset >= 11 * MiB && s3.running) await s3.stop();
            },
          }),
      },
      /ECONNREFUSED|socket hang up|ECONNRESET/,
    );
  });

  it('Redis killed mid-stream', async () => {
    const victim = await RedisProcess.start();
    try {
      await populateBulk(victim.client(), 24);
      await expectFailure(
        {
          redis: backupUser(victim.port),
          interpose: () =>
            tap({
              onChunk: async (offset) => {
                if (offset >= 2 * MiB && victim.running) await victim.kill9();
              },
            }),
        },
        /Redis at 127\.0\.0\.1:\d+ closed the connection after \d+ RDB bytes without the end-of-RDB mark|ECONNRESET/,
      );
    } finally {
      await victim.cleanup();
    }
  });
});
