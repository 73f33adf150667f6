import type { RedisSample } from './sample';

export type MetricUnit = 'Count' | 'Bytes' | 'Percent' | 'Seconds' | 'Count/Second' | 'None';

/** One CloudWatch data point; `dimensions` are added to the Stage dimension. */
export interface MetricPoint {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly dimensions?: Readonly<Record<string, string>>;
}

/**
 * Redis's cumulative counters as last seen, to turn them into per-interval values. `runId` changes
 * when Redis restarts, which resets every counter to 0.
 */
export interface CounterBaseline {
  readonly runId: string;
  readonly counters: Readonly<Record<string, number>>;
}

/** Cumulative INFO counters published as per-interval deltas, and their metric names. */
const INTERVAL_COUNTERS: Readonly<Record<string, string>> = {
  evicted_keys: 'EvictedKeys',
  expired_keys: 'ExpiredKeys',
  rejected_connections: 'RejectedConnections',
  keyspace_hits: 'KeyspaceHits',
  keyspace_misses: 'KeyspaceMisses',
};

/**
 * Turns a sample into metric points, and the baseline for the next interval.
 *
 * Per-interval counters (EvictedKeys first: the spec's concern) are `current - previous` while the
 * Redis run is the same. After a restart (new run_id) the counters restarted from 0, so every
 * count since the restart happened within this interval: the value is the counter itself. With no
 * baseline at all (the function's first run) the same holds only if Redis started within the
 * interval; otherwise the interval is unknown and those points are left out (missing, not zero).
 */
export function toMetricPoints(
  sample: RedisSample,
  baseline: CounterBaseline | undefined,
  intervalSeconds: number,
): { points: MetricPoint[]; baseline: CounterBaseline } {
  const info = sample.info;
  const num = (field: string): number | undefined => {
    const value = info[field];
    if (value === undefined || value === '') return undefined;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  const points: MetricPoint[] = [{ name: 'RedisUp', unit: 'Count', value: 1 }];
  const add = (
    name: string,
    unit: MetricUnit,
    value: number | undefined,
    dimensions?: Record<string, string>,
  ) => {
    if (value !== undefined && Number.isFinite(value))
      points.push({ name, unit, value, ...(dimensions && { dimensions }) });
  };

  // Per-interval counters.
  const runId = info.run_id ?? '';
  const counters: Record<string, number> = {};
  for (const field of Object.keys(INTERVAL_COUNTERS)) counters[field] = num(field) ?? 0;
  const sameRun = baseline !== undefined && baseline.runId === runId;
  const startedWithinInterval = (num('uptime_in_seconds') ?? Number.POSITIVE_INFINITY) <= intervalSeconds;
  const deltas: Record<string, number> = {};
  if (sameRun || baseline !== undefined || startedWithinInterval) {
    for (const [field, name] of Object.entries(INTERVAL_COUNTERS)) {
      const current = counters[field] as number;
      const previous = sameRun ? (baseline.counters[field] ?? 0) : 0;
      // A counter below its baseline in the same run means CONFIG RESETSTAT: count from 0.
      deltas[field] = current >= previous ? current - previous : current;
      add(name, 'Count', deltas[field]);
    }
    const lookups = (deltas.keyspace_hits ?? 0) + (deltas.keyspace_misses ?? 0);
    if (lookups > 0) add('HitRate', 'Percent', ((deltas.keyspace_hits ?? 0) / lookups) * 100);
  }

  // Memory.
  const used = num('used_memory');
  const max = num('maxmemory');
  add('UsedMemory', 'Bytes', used);
  add('MaxMemory', 'Bytes', max);
  if (used !== undefined && max !== undefined && max > 0)
    add('MemoryUsedPercent', 'Percent', (used / max) * 100);
  add('FragmentationRatio', 'None', num('mem_fragmentation_ratio'));

  // Clients and load.
  add('ConnectedClients', 'Count', num('connected_clients'));
  add('BlockedClients', 'Count', num('blocked_clients'));
  add('OpsPerSecond', 'Count/Second', num('instantaneous_ops_per_sec'));

  // Keys, in total and per database (INFO keyspace: `db0:keys=12,expires=3,avg_ttl=0`).
  let totalKeys = 0;
  for (const [field, value] of Object.entries(info)) {
    const db = /^db(\d+)$/.exec(field);
    const keys = /(?:^|,)keys=(\d+)/.exec(value);
    if (!db || !keys) continue;
    totalKeys += Number(keys[1]);
    add('Keys', 'Count', Number(keys[1]), { Database: `db${db[1]}` });
  }
  add('Keys', 'Count', totalKeys);

  // Persistence: 1 = ok, 0 = broken (the alarms page on 0).
  add('RdbLastBgsaveOk', 'Count', info.rdb_last_bgsave_status === 'ok' ? 1 : 0);
  if (info.aof_enabled === '1') {
    add('AofLastWriteOk', 'Count', info.aof_last_write_status === 'ok' ? 1 : 0);
    add('AofLastRewriteOk', 'Count', info.aof_last_bgrewrite_status === 'ok' ? 1 : 0);
    add('AofSize', 'Bytes', num('aof_current_size'));
  }
  const lastSave = num('rdb_last_save_time');
  if (lastSave !== undefined) {
    add('SecondsSinceLastSave', 'Seconds', Math.max(0, Math.round(sample.at.getTime() / 1000 - lastSave)));
  }

  // Celery queues.
  for (const [queue, length] of Object.entries(sample.queueLengths)) {
    add('CeleryQueueLength', 'Count', length, { Queue: queue });
  }
  return { points, baseline: { runId, counters } };
}

/** The point published when Redis cannot be sampled: the alarms treat 0 (and silence) as down. */
export const REDIS_DOWN: MetricPoint = { name: 'RedisUp', unit: 'Count', value: 0 };
