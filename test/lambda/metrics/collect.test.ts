import {
  type CollectResult,
  collectRedisMetrics,
  KOMBU_PRIORITY_SEPARATOR,
  MetricsState,
} from '../../../lambda/metrics';
import { createObservability } from '../../../lambda/shared/observability';
import type { RedisTarget } from '../../../lambda/shared/redis-connection';
import { PASSWORDS, parseInfo, RedisProcess } from '../../../ops/local/redis-process';
import { captureStdout, type EmfDocument, metricValue, recordingLogger } from './emf';

// The metrics core against a real redis-server started with the project's entrypoint, config and
// ACL users (the function's `monitor` user), with a 2 MB maxmemory so evictions can be forced.
const MAXMEMORY = { REDIS_MAXMEMORY: '2mb' };

/** One metrics run, as the scheduled function does it; returns the result and the EMF it printed. */
async function collect(
  target: RedisTarget,
  state: MetricsState,
  options: { intervalSeconds?: number; queues?: string[]; queueDatabase?: number } = {},
): Promise<{ result: CollectResult; documents: EmfDocument[]; logger: ReturnType<typeof recordingLogger> }> {
  const { metrics } = createObservability('redis-metrics', 'test');
  const logger = recordingLogger();
  const stdout = captureStdout();
  try {
    const result = await collectRedisMetrics({
      redis: target,
      intervalSeconds: options.intervalSeconds ?? 60,
      state,
      logger,
      metrics,
      ...(options.queues && { queues: options.queues }),
      ...(options.queueDatabase !== undefined && { queueDatabase: options.queueDatabase }),
    });
    return { result, documents: stdout.documents(), logger };
  } finally {
    stdout.restore();
  }
}

function monitorTarget(redis: RedisProcess, password: string = PASSWORDS.monitor): RedisTarget {
  return { host: '127.0.0.1', port: redis.port, username: 'monitor', password };
}

/** Writes 10 KB values until Redis has evicted more keys than before (2 MB maxmemory, allkeys-lru). */
async function forceEvictions(redis: RedisProcess, prefix: string): Promise<number> {
  const client = redis.client();
  const before = await evictedKeys(redis);
  const pipeline = client.pipeline();
  for (let i = 0; i < 400; i++) pipeline.set(`${prefix}:${i}`, 'x'.repeat(10_000));
  await pipeline.exec();
  const after = await evictedKeys(redis);
  expect(after).toBeGreaterThan(before);
  return after;
}

async function evictedKeys(redis: RedisProcess): Promise<number> {
  return Number(parseInfo(await redis.client('monitor').info('stats')).evicted_keys);
}

describe('metrics core: evictions per interval, across restarts', () => {
  let first: RedisProcess;
  let second: RedisProcess | undefined;
  const state = new MetricsState();

  beforeAll(async () => {
    first = await RedisProcess.start({ env: MAXMEMORY });
  });
  afterAll(async () => {
    await second?.cleanup();
    await first.cleanup(); // owns the data dir
  });

  // Redis also evicts while serving the sampler's own commands (a new connection's buffers count
  // against maxmemory when it is full), so the exact numbers are read from the samples themselves:
  // each interval's EvictedKeys must be the difference of two consecutive evicted_keys counters
  // (EvictedKeysSinceStart) of the same run, or the whole counter of a new run.

  it('publishes the evictions of the interval (a positive EvictedKeys) with dimensions service and Stage', async () => {
    // First run right after Redis started: the cold-start value is the whole counter (exact).
    const cold = await collect(monitorTarget(first), state);
    expect(cold.result.up).toBe(true);
    expect(metricValue(cold.documents, 'RedisUp')).toBe(1);
    const coldTotal = metricValue(cold.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
    expect(metricValue(cold.documents, 'EvictedKeys')).toBe(coldTotal);

    const forced = await forceEvictions(first, 'a');
    const warm = await collect(monitorTarget(first), state);
    const warmTotal = metricValue(warm.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
    const warmEvicted = metricValue(warm.documents, 'EvictedKeys') ?? Number.NaN;
    expect(warmEvicted).toBeGreaterThan(0);
    expect(warmEvicted).toBeGreaterThanOrEqual(forced - coldTotal);
    expect(warmEvicted).toBe(warmTotal - coldTotal);
    const [document] = warm.documents.filter((doc) => 'EvictedKeys' in doc);
    expect(document?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'EmailPlatform/Redis',
      Dimensions: [['service', 'Stage']],
    });
    expect(document).toMatchObject({ service: 'redis-metrics', Stage: 'test' });

    // The next interval counts only what happened since: not the cumulative count again.
    const next = await collect(monitorTarget(first), state);
    const nextTotal = metricValue(next.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
    expect(metricValue(next.documents, 'EvictedKeys')).toBe(nextTotal - warmTotal);
    expect(metricValue(next.documents, 'EvictedKeys')).toBeLessThan(warmEvicted);
  });

  it('stays correct when Redis restarts between two samples (counter reset: never negative, never counted twice)', async () => {
    const oldRun = await evictedKeys(first);
    expect(oldRun).toBeGreaterThan(300);
    await first.stop();
    second = await RedisProcess.start({ env: MAXMEMORY, dataDir: first.dataDir, port: first.port });

    // Restarted: the value is the new run's own counter, not "new - old" (negative) nor the old count.
    const afterRestart = await collect(monitorTarget(second), state);
    expect(afterRestart.result.up).toBe(true);
    const restartTotal = metricValue(afterRestart.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
    expect(restartTotal).toBeLessThan(oldRun);
    expect(metricValue(afterRestart.documents, 'EvictedKeys')).toBe(restartTotal);

    // Evictions in the new run: counted once, from the new run's baseline.
    const forced = await forceEvictions(second, 'b');
    const delta = await collect(monitorTarget(second), state);
    const deltaTotal = metricValue(delta.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
    expect(metricValue(delta.documents, 'EvictedKeys')).toBe(deltaTotal - restartTotal);
    expect(metricValue(delta.documents, 'EvictedKeys')).toBeGreaterThanOrEqual(forced - restartTotal);
  });

  it('after a restart with evictions before the first sample, reports exactly the new run’s evictions', async () => {
    if (!second) throw new Error('the previous test restarts Redis');
    const previousRun = await evictedKeys(second);
    await second.stop();
    const third = await RedisProcess.start({ env: MAXMEMORY, dataDir: first.dataDir, port: first.port });
    try {
      const forced = await forceEvictions(third, 'c');
      const sample = await collect(monitorTarget(third), state);
      // The baseline belongs to the previous run: the value is the new run's whole counter.
      const total = metricValue(sample.documents, 'EvictedKeysSinceStart') ?? Number.NaN;
      expect(metricValue(sample.documents, 'EvictedKeys')).toBe(total);
      expect(total).toBeGreaterThanOrEqual(forced);
      expect(total).toBeLessThan(previousRun + forced); // nothing carried over from the previous run
    } finally {
      await third.cleanup();
    }
  });
});

describe('metrics core: gauges, keys, queues', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start({ env: MAXMEMORY });
    const client = redis.client();
    await client.rpush('celery', 'm1', 'm2', 'm3');
    await client.rpush(`celery${KOMBU_PRIORITY_SEPARATOR}6`, 'p1', 'p2'); // kombu's priority-6 list
    await client.rpush('emails', 'e1');
    await client.set('not-a-queue', 'a string');
    await client.set('cache:1', 'v');
    await client.select(3);
    await client.set('k1', 'v');
    await client.set('k2', 'v');
  });
  afterAll(() => redis.cleanup());

  it('publishes Celery queue lengths (with priority lists) and keys per database (DBSIZE) and in total', async () => {
    const state = new MetricsState();
    const { result, documents } = await collect(monitorTarget(redis), state, {
      queues: ['celery', 'emails', 'absent'],
    });
    expect(result.up).toBe(true);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(5);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'emails' })).toBe(1);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'absent' })).toBe(0);
    expect(metricValue(documents, 'Keys', { Database: 'db0' })).toBe(5);
    expect(metricValue(documents, 'Keys', { Database: 'db3' })).toBe(2);
    expect(metricValue(documents, 'Keys')).toBe(7);
  });

  it('publishes memory, clients, persistence and save metrics', async () => {
    const { documents } = await collect(monitorTarget(redis), new MetricsState());
    expect(metricValue(documents, 'MaxMemory')).toBe(2 * 1024 * 1024);
    const used = metricValue(documents, 'UsedMemory') ?? 0;
    expect(used).toBeGreaterThan(0);
    expect(metricValue(documents, 'MemoryUsedPercent')).toBeCloseTo((used / (2 * 1024 * 1024)) * 100, 5);
    expect(metricValue(documents, 'FragmentationRatio')).toBeGreaterThan(0);
    expect(metricValue(documents, 'ConnectedClients')).toBeGreaterThanOrEqual(1);
    expect(metricValue(documents, 'BlockedClients')).toBe(0);
    expect(metricValue(documents, 'RdbLastBgsaveOk')).toBe(1);
    expect(metricValue(documents, 'AofLastWriteOk')).toBe(1); // the project's redis.conf: appendonly yes
    expect(metricValue(documents, 'AofLastRewriteOk')).toBe(1);
    expect(metricValue(documents, 'AofSize')).toBeGreaterThan(0);
    expect(metricValue(documents, 'SecondsSinceLastSave')).toBeGreaterThanOrEqual(0);
    expect(metricValue(documents, 'UnsavedChanges')).toBeGreaterThan(0);
    expect(metricValue(documents, 'OpsPerSecond')).toBeGreaterThanOrEqual(0);
  });

  it('computes the hit rate of the interval', async () => {
    const state = new MetricsState();
    await collect(monitorTarget(redis), state);
    const client = redis.client();
    await client.select(0);
    for (let i = 0; i < 3; i++) await client.get('cache:1'); // hits
    await client.get('cache:missing'); // a miss
    const { documents } = await collect(monitorTarget(redis), state);
    expect(metricValue(documents, 'KeyspaceHits')).toBe(3);
    expect(metricValue(documents, 'KeyspaceMisses')).toBe(1);
    expect(metricValue(documents, 'HitRate')).toBe(75);
  });

  it('leaves out (and logs) a queue that is not a list, and still reports Redis up', async () => {
    const { result, documents, logger } = await collect(monitorTarget(redis), new MetricsState(), {
      queues: ['not-a-queue', 'celery'],
    });
    expect(result.up).toBe(true);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'not-a-queue' })).toBeUndefined();
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(5);
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        attributes: { problems: [expect.stringMatching(/^queue not-a-queue \(db0\): WRONGTYPE/)] },
      }),
    );
  });

  it('keeps reporting a database that was emptied as 0 instead of dropping it', async () => {
    const state = new MetricsState();
    const client = redis.client();
    await client.select(5);
    await client.set('temporary', 'v');
    const before = await collect(monitorTarget(redis), state);
    expect(metricValue(before.documents, 'Keys', { Database: 'db5' })).toBe(1);
    await client.del('temporary');
    const after = await collect(monitorTarget(redis), state);
    expect(metricValue(after.documents, 'Keys', { Database: 'db5' })).toBe(0);
  });

  it('on a cold start leaves out a non-zero per-interval counter of a Redis that started earlier', async () => {
    const client = redis.client();
    await client.select(0);
    await client.get('cache:1'); // keyspace_hits > 0 since start
    // uptime_in_seconds counts whole seconds: wait until it is above a 1-second interval.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const { documents } = await collect(monitorTarget(redis), new MetricsState(), { intervalSeconds: 1 });
    expect(metricValue(documents, 'KeyspaceHits')).toBeUndefined(); // unknown share: no made-up number
    expect(metricValue(documents, 'HitRate')).toBeUndefined();
    expect(metricValue(documents, 'RejectedConnections')).toBe(0); // 0 since start: 0 in the interval
    expect(metricValue(documents, 'UptimeSeconds')).toBeGreaterThanOrEqual(2);
  });
});

describe('metrics core: Redis not available', () => {
  it('wrong password: logs that the credentials were refused, publishes RedisUp = 0, does not throw', async () => {
    const redis = await RedisProcess.start();
    try {
      const { result, documents, logger } = await collect(
        monitorTarget(redis, 'wrong-password-0123456789'),
        new MetricsState(),
      );
      expect(result).toMatchObject({ up: false, reason: 'auth' });
      expect(documents).toHaveLength(1);
      expect(metricValue(documents, 'RedisUp')).toBe(0);
      const [entry] = logger.entries.filter((e) => e.level === 'error');
      expect(entry?.attributes).toMatchObject({
        reason: 'auth',
        error: expect.stringContaining('WRONGPASS'),
        redis: `monitor@127.0.0.1:${redis.port}`,
      });
      expect(JSON.stringify(logger.entries)).not.toContain('wrong-password');
    } finally {
      await redis.cleanup();
    }
  });

  it('stopped server: logs that Redis is unreachable, publishes RedisUp = 0, keeps the baseline', async () => {
    const redis = await RedisProcess.start();
    const state = new MetricsState();
    try {
      await collect(monitorTarget(redis), state);
      const baseline = state.baseline;
      expect(baseline).toBeDefined();
      await redis.stop();
      const { result, documents, logger } = await collect(monitorTarget(redis), state);
      expect(result).toMatchObject({ up: false, reason: 'unreachable' });
      expect(metricValue(documents, 'RedisUp')).toBe(0);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({
          level: 'error',
          attributes: expect.objectContaining({ error: expect.stringContaining('ECONNREFUSED') }),
        }),
      );
      expect(state.baseline).toBe(baseline);
    } finally {
      await redis.cleanup();
    }
  });
});
