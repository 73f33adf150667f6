import { PutObjectCommand } from '@aws-sdk/client-s3';
import { newestSnapshotAge, publishSnapshotAge } from '../../../lambda/metrics/snapshot-age';
import { createObservability } from '../../../lambda/shared/observability';
import { createS3Client } from '../../../lambda/shared/s3-client';
import { snapshotKey } from '../../../lambda/shared/snapshots/snapshot-key';
import { startS3rverProcess } from '../../../ops/local/node-server';
import { S3Server } from '../../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { captureStdout, metricValue } from './emf';

const HOUR = 3_600_000;
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('the newest snapshot age, read from a real S3-compatible server', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await S3Server.start({ bucket: 'backups' });
  });
  afterAll(() => s3.cleanup());

  /** Stores empty objects under `keys`, in a fresh folder per test. */
  async function put(keys: string[]): Promise<void> {
    for (const key of keys)
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x' }));
  }
  let folder = 0;
  function prefix(): string {
    folder += 1;
    return `age-${folder}`;
  }
  const age = (base: string, now: string, lookbackHours = 27, pageSize?: number) =>
    newestSnapshotAge({
      s3: s3.client,
      bucket: s3.bucket,
      stagePrefix: `${base}/prod/`,
      lookbackHours,
      now: new Date(now),
      ...(pageSize !== undefined && { pageSize }),
    });

  it('is the hours since the newest snapshot of the stage; other stages and other keys do not count', async () => {
    const base = prefix();
    await put([
      snapshotKey(base, 'prod', new Date('2026-11-23T02:00:00Z')),
      snapshotKey(base, 'prod', new Date('2026-11-24T02:00:00Z')),
      snapshotKey(base, 'dev', new Date('2026-11-25T01:00:00Z')),
      `${base}/prod/2026/11/25/notes.txt`,
    ]);
    expect(await age(base, '2026-11-25T08:30:00Z', 48)).toEqual({
      hours: 30.5,
      key: `${base}/prod/2026/11/24/20261124T020000Z.rdb`,
    });
  });

  it('finds the newest snapshot in the previous month (and across a year)', async () => {
    const base = prefix();
    await put([snapshotKey(base, 'prod', new Date('2025-12-31T02:00:00Z'))]);
    expect(await age(base, '2026-01-01T05:00:00Z')).toEqual({
      hours: 27,
      key: `${base}/prod/2025/12/31/20251231T020000Z.rdb`,
    });
  });

  it('reads every page of a month', async () => {
    // A truncated listing needs s3rver in its own process (node-server.ts says why).
    const directory = makeTempDir('s3rver-pages');
    const server = await startS3rverProcess(directory, 'pages');
    const client = createS3Client({
      endpointUrl: server.endpoint,
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      const days = [1, 2, 3, 4, 5].map((day) => new Date(Date.UTC(2026, 10, day, 2)));
      for (const day of days)
        await client.send(
          new PutObjectCommand({ Bucket: 'pages', Key: snapshotKey('s', 'prod', day), Body: 'x' }),
        );
      const options = { s3: client, bucket: 'pages', stagePrefix: 's/prod/', lookbackHours: 200 };
      const now = new Date('2026-11-05T04:00:00Z');
      expect(await newestSnapshotAge({ ...options, now, pageSize: 2 })).toEqual({
        hours: 2,
        key: 's/prod/2026/11/05/20261105T020000Z.rdb',
      });
    } finally {
      client.destroy();
      server.process.kill('SIGTERM');
      removeTempDir(directory);
    }
  });

  it('is the look-back itself when no snapshot is that recent, or none exists', async () => {
    const base = prefix();
    expect(await age(base, '2026-11-25T08:00:00Z', 171)).toEqual({ hours: 171 });
    await put([snapshotKey(base, 'prod', new Date('2026-11-10T02:00:00Z'))]);
    expect(await age(base, '2026-11-25T08:00:00Z', 171)).toEqual({ hours: 171 });
    expect((await age(base, '2026-11-11T08:00:00Z', 171)).hours).toBe(30);
  });

  describe('publishSnapshotAge', () => {
    // Node 20 here, Node 24 in Lambda: the SDK's notice is not this test's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

    it('publishes LatestSnapshotAgeHours as EMF with the service and Stage dimensions', async () => {
      const base = prefix();
      await put([snapshotKey(base, 'prod', new Date(Date.now() - 5 * HOUR))]);
      const { logger, metrics } = createObservability('redis-metrics', 'prod');
      const stdout = captureStdout();
      try {
        const published = await publishSnapshotAge({
          s3: s3.client,
          bucket: s3.bucket,
          stagePrefix: `${base}/prod/`,
          lookbackHours: 27,
          metrics,
          logger,
        });
        expect(published?.hours).toBeCloseTo(5, 1);
        expect(metricValue(stdout.documents(), 'LatestSnapshotAgeHours')).toBeCloseTo(5, 1);
      } finally {
        stdout.restore();
      }
    });

    it('logs and publishes nothing when the bucket cannot be listed, and does not throw', async () => {
      const { metrics } = createObservability('redis-metrics', 'prod');
      const errors: Record<string, unknown>[] = [];
      const logger = {
        info() {},
        warn() {},
        error: (_: string, attributes: Record<string, unknown>) => errors.push(attributes),
      };
      const stdout = captureStdout();
      try {
        const published = await publishSnapshotAge({
          s3: s3.client,
          bucket: 'no-such-bucket',
          stagePrefix: 'snapshots/prod/',
          lookbackHours: 27,
          metrics,
          logger,
        });
        expect(published).toBeUndefined();
        expect(metricValue(stdout.documents(), 'LatestSnapshotAgeHours')).toBeUndefined();
      } finally {
        stdout.restore();
      }
      expect(errors).toEqual([
        expect.objectContaining({ bucket: 'no-such-bucket', error: expect.stringMatching(/bucket/i) }),
      ]);
    });
  });
});
