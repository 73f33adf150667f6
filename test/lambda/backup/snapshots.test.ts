import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runBackup } from '../../../lambda/backup';
import { countKeys } from '../../../lambda/shared/redis-facts';
import { parseInfo } from '../../../lambda/shared/redis-info';
import { listSnapshots, parseSnapshotKey, snapshotKey } from '../../../lambda/shared/snapshots';
import { RedisProcess } from '../../../ops/local/redis-process';
import { S3Server } from '../../../ops/local/s3-server';
import { backupUser, clockFrom, recorder } from '../helpers/backup-deps';

describe('snapshot keys', () => {
  it('are <prefix>/<stage>/YYYY/MM/DD/<UTC timestamp>.rdb', () => {
    const date = new Date('2026-11-25T02:00:00.999Z');
    expect(snapshotKey('redis-backups', 'prod', date)).toBe(
      'redis-backups/prod/2026/11/25/20261125T020000Z.rdb',
    );
    expect(snapshotKey('/a/b/', 'dev', date)).toBe('a/b/dev/2026/11/25/20261125T020000Z.rdb');
    expect(snapshotKey('', 'dev', date)).toBe('dev/2026/11/25/20261125T020000Z.rdb');
  });

  it('sort in time order', () => {
    const keys = ['2026-01-02T00:00:00Z', '2025-12-31T23:59:59Z', '2026-01-01T10:00:00Z'].map((d) =>
      snapshotKey('p', 'dev', new Date(d)),
    );
    expect([...keys].sort()).toEqual([keys[1], keys[2], keys[0]]);
  });

  it('refuse a stage that would break the layout', () => {
    expect(() => snapshotKey('p', 'a/b', new Date())).toThrow(/invalid stage "a\/b"/);
    expect(() => snapshotKey('p', '', new Date())).toThrow(/invalid stage/);
  });

  it('parse back to stage and time; other keys are not snapshots', () => {
    expect(parseSnapshotKey('redis-backups/prod/2026/11/25/20261125T020000Z.rdb')).toEqual({
      stage: 'prod',
      time: new Date('2026-11-25T02:00:00Z'),
    });
    expect(parseSnapshotKey('prod/2026/11/25/20261125T020000Z.rdb')?.stage).toBe('prod');
    expect(parseSnapshotKey('redis-backups/prod/2026/11/24/20261125T020000Z.rdb')).toBeUndefined();
    expect(parseSnapshotKey('redis-backups/prod/notes.txt')).toBeUndefined();
  });
});

describe('countKeys', () => {
  it('sums keys over every database of INFO keyspace', () => {
    const info = '# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=10\r\ndb5:keys=40,expires=0,avg_ttl=0\r\n';
    expect(countKeys(parseInfo(info))).toBe(43);
    expect(countKeys(parseInfo('# Keyspace\r\n'))).toBe(0);
  });
});

describe('listSnapshots', () => {
  let s3: S3Server;
  let redis: RedisProcess;

  beforeAll(async () => {
    s3 = await S3Server.start();
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.cleanup();
    await s3.cleanup();
  });

  it('lists snapshots newest first with time, size and key count, skipping other objects', async () => {
    const { logger } = recorder();
    const backup = (stage: string, at: string) =>
      runBackup({
        redis: backupUser(redis.port),
        s3: s3.client,
        bucket: s3.bucket,
        prefix: 'redis-backups',
        stage,
        logger,
        clock: clockFrom(at),
      });
    await redis.client().set('a', '1');
    const first = await backup('dev', '2026-11-24T02:00:00Z');
    await redis.client().set('b', '2');
    const second = await backup('dev', '2026-11-25T02:00:00Z');
    const other = await backup('prod', '2026-11-26T02:00:00Z');
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'redis-backups/dev/README.txt',
        Body: 'not a snapshot',
      }),
    );

    const dev = await listSnapshots({
      s3: s3.client,
      bucket: s3.bucket,
      prefix: 'redis-backups',
      stage: 'dev',
    });
    expect(dev).toEqual([
      expect.objectContaining({
        key: second.key,
        stage: 'dev',
        time: new Date('2026-11-25T02:00:00Z'),
        size: second.bytes,
        keys: 2,
        redisVersion: '7.0.15',
        rdbVersion: 10,
      }),
      expect.objectContaining({
        key: first.key,
        time: new Date('2026-11-24T02:00:00Z'),
        size: first.bytes,
        keys: 1,
      }),
    ]);

    const all = await listSnapshots({
      s3: s3.client,
      bucket: s3.bucket,
      prefix: '/redis-backups/',
      limit: 2,
    });
    expect(all.map((s) => s.key)).toEqual([other.key, second.key]);

    const bare = await listSnapshots({
      s3: s3.client,
      bucket: s3.bucket,
      prefix: 'redis-backups',
      withMetadata: false,
    });
    expect(bare).toHaveLength(3);
    expect(bare[0]).not.toHaveProperty('keys');

    expect(await listSnapshots({ s3: s3.client, bucket: s3.bucket, prefix: 'elsewhere' })).toEqual([]);
  });
});
