import {
  type CounterBaseline,
  intervalCount,
  type MetricPoint,
  type RedisSample,
  toMetricPoints,
} from '../../../lambda/metrics';

// The pure part of the metrics: INFO fields -> points. The real-server behaviour (evictions,
// restarts, queues) is in collect.test.ts; these pin the rules on crafted INFO values.

const AT = new Date('2026-11-25T12:00:00Z');

function sample(info: Record<string, string>, extra: Partial<RedisSample> = {}): RedisSample {
  return {
    at: AT,
    info: { run_id: 'run-a', uptime_in_seconds: '3600', ...info },
    databaseKeys: {},
    queueLengths: {},
    problems: [],
    ownLookups: { hits: 0, misses: 0 },
    ...extra,
  };
}

function value(points: readonly MetricPoint[], name: string): number | undefined {
  return points.find((point) => point.name === name && point.dimensions === undefined)?.value;
}

const baseline = (counters: Record<string, number>, runId = 'run-a'): CounterBaseline => ({
  runId,
  at: new Date(AT.getTime() - 60_000),
  counters,
});

describe('intervalCount', () => {
  it('same run: the difference to the baseline', () => {
    expect(intervalCount(120, baseline({ evicted_keys: 100 }), 'evicted_keys', 'run-a', false)).toBe(20);
  });

  it('same run, counter below the baseline (CONFIG RESETSTAT): the counter since the reset', () => {
    expect(intervalCount(7, baseline({ evicted_keys: 100 }), 'evicted_keys', 'run-a', false)).toBe(7);
  });

  it('another run (restart since the last sample): the whole new counter, never negative', () => {
    expect(intervalCount(5, baseline({ evicted_keys: 100 }), 'evicted_keys', 'run-b', false)).toBe(5);
  });

  it('cold start: exact when the counter is 0 or Redis started within the interval, else unknown', () => {
    expect(intervalCount(0, undefined, 'evicted_keys', 'run-a', false)).toBe(0);
    expect(intervalCount(42, undefined, 'evicted_keys', 'run-a', true)).toBe(42);
    expect(intervalCount(42, undefined, 'evicted_keys', 'run-a', false)).toBeUndefined();
  });

  it('takes out the lookups the sample made itself, and treats a counter of only those as 0 on a cold start', () => {
    expect(intervalCount(110, baseline({ keyspace_hits: 100 }), 'keyspace_hits', 'run-a', false, 4)).toBe(6);
    expect(intervalCount(4, undefined, 'keyspace_misses', 'run-a', false, 4)).toBe(0);
    expect(intervalCount(2, baseline({ keyspace_hits: 1 }), 'keyspace_hits', 'run-a', false, 4)).toBe(0);
  });
});

describe('toMetricPoints', () => {
  it('publishes memory in % of maxmemory only when maxmemory is set', () => {
    const limited = toMetricPoints(sample({ used_memory: '450', maxmemory: '500' }), undefined, 60).points;
    expect(value(limited, 'MemoryUsedPercent')).toBe(90);
    const unlimited = toMetricPoints(sample({ used_memory: '450', maxmemory: '0' }), undefined, 60).points;
    expect(value(unlimited, 'MemoryUsedPercent')).toBeUndefined();
    expect(value(unlimited, 'MaxMemory')).toBe(0);
  });

  it('reports broken persistence as 0 and leaves out the AOF metrics when AOF is off', () => {
    const broken = toMetricPoints(
      sample({
        rdb_last_bgsave_status: 'err',
        aof_enabled: '1',
        aof_last_write_status: 'err',
        aof_last_bgrewrite_status: 'ok',
        aof_current_size: '1234',
      }),
      undefined,
      60,
    ).points;
    expect([
      value(broken, 'RdbLastBgsaveOk'),
      value(broken, 'AofLastWriteOk'),
      value(broken, 'AofLastRewriteOk'),
      value(broken, 'AofSize'),
    ]).toEqual([0, 0, 1, 1234]);
    const noAof = toMetricPoints(
      sample({ rdb_last_bgsave_status: 'ok', aof_enabled: '0' }),
      undefined,
      60,
    ).points;
    expect(value(noAof, 'RdbLastBgsaveOk')).toBe(1);
    expect(value(noAof, 'AofLastWriteOk')).toBeUndefined();
    expect(value(noAof, 'AofSize')).toBeUndefined();
  });

  it('computes the seconds since the last save from the sample time', () => {
    const points = toMetricPoints(
      sample({ rdb_last_save_time: String(AT.getTime() / 1000 - 125), rdb_changes_since_last_save: '17' }),
      undefined,
      60,
    ).points;
    expect(value(points, 'SecondsSinceLastSave')).toBe(125);
    expect(value(points, 'UnsavedChanges')).toBe(17);
  });

  it('averages ops/s over the interval when the same run was seen, else takes the instantaneous value', () => {
    const info = { total_commands_processed: '7000', instantaneous_ops_per_sec: '3' };
    const warm = toMetricPoints(sample(info), baseline({ total_commands_processed: 1000 }), 60).points;
    expect(value(warm, 'OpsPerSecond')).toBe(100); // 6000 commands in 60 s
    const cold = toMetricPoints(sample(info), undefined, 60).points;
    expect(value(cold, 'OpsPerSecond')).toBe(3);
    const restarted = toMetricPoints(sample(info), baseline({ total_commands_processed: 1000 }, 'run-z'), 60);
    expect(value(restarted.points, 'OpsPerSecond')).toBe(3);
  });

  it('returns the baseline for the next interval: run id, sample time and the counters', () => {
    const { baseline: next } = toMetricPoints(
      sample({ evicted_keys: '9', keyspace_hits: '4', total_commands_processed: '50' }),
      undefined,
      60,
    );
    expect(next).toEqual({
      runId: 'run-a',
      at: AT,
      counters: { evicted_keys: 9, keyspace_hits: 4, total_commands_processed: 50 },
    });
  });

  it('publishes per-database keys and queue lengths with their extra dimension', () => {
    const { points } = toMetricPoints(
      sample({}, { databaseKeys: { 0: 3, 2: 4 }, queueLengths: { celery: 8 } }),
      undefined,
      60,
    );
    expect(points).toEqual(
      expect.arrayContaining([
        { name: 'Keys', unit: 'Count', value: 3, dimensions: { Database: 'db0' } },
        { name: 'Keys', unit: 'Count', value: 4, dimensions: { Database: 'db2' } },
        { name: 'Keys', unit: 'Count', value: 7 },
        { name: 'CeleryQueueLength', unit: 'Count', value: 8, dimensions: { Queue: 'celery' } },
      ]),
    );
  });
});
