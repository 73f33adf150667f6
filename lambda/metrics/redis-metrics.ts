import { DATABASE_DIMENSION, METRIC, QUEUE_DIMENSION } from '../shared/metric-names';
import type { RedisSample } from './sample';

export type MetricUnit = 'Count' | 'Bytes' | 'Percent' | 'Seconds' | 'Count/Second' | 'None';

/** One CloudWatch data point; `dimensions` are added to the function's (service, Stage). */
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
  /** When those counters were read. */
  readonly at: Date;
  readonly counters: Readonly<Record<string, number>>;
}

/** Cumulative INFO counters published as per-interval values, and their metric names. */
const INTERVAL_COUNTERS: Readonly<Record<string, string>> = {
  evicted_keys: METRIC.EvictedKeys,
  expired_keys: METRIC.ExpiredKeys,
  rejected_connections: METRIC.RejectedConnections,
  keyspace_hits: METRIC.KeyspaceHits,
  keyspace_misses: METRIC.KeyspaceMisses,
};

/** Read for the interval's average ops/s; not published as such. */
const COMMANDS_COUNTER = 'total_commands_processed';

/**
 * The counts of one counter during the interval, or undefined when they cannot be known. `own` is
 * what the sample itself caused (its LLEN lookups, made just before INFO): always taken out.
 *
 * - Same Redis run as the baseline: `current - previous` (a current value below the baseline means
 *   CONFIG RESETSTAT within the interval: everything counted since then is the current value).
 * - Baseline from another run: Redis restarted since the last sample and its counters started
 *   again from 0, so all of `current` happened since the last sample. Never negative, never counted twice.
 * - No baseline (the function's cold start): exact when nothing but the sample itself was ever
 *   counted, or when Redis started within the interval (everything happened in it); otherwise
 *   unknown: the point is left out for that one sample rather than reporting a made-up number.
 */
export function intervalCount(
  current: number,
  baseline: CounterBaseline | undefined,
  field: string,
  runId: string,
  startedWithinInterval: boolean,
  own = 0,
): number | undefined {
  const previous = baseline?.runId === runId ? baseline.counters[field] : undefined;
  let count: number | undefined;
  if (baseline !== undefined && baseline.runId !== runId) count = current;
  else if (previous !== undefined) count = current >= previous ? current - previous : current;
  else count = current - own <= 0 || startedWithinInterval ? current : undefined;
  return count === undefined ? undefined : Math.max(0, count - own);
}

/**
 * Turns a sample into metric points, and the baseline for the next interval. See `intervalCount`
 * for the per-interval counters (EvictedKeys first: the spec's concern, allkeys-lru can evict
 * Celery's keys); everything else is a gauge read from the sample alone.
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
  const points: MetricPoint[] = [{ name: METRIC.RedisUp, unit: 'Count', value: 1 }];
  const add = (
    name: string,
    unit: MetricUnit,
    value: number | undefined,
    dimensions?: Record<string, string>,
  ) => {
    if (value !== undefined && Number.isFinite(value)) {
      points.push({ name, unit, value, ...(dimensions && { dimensions }) });
    }
  };

  const runId = info.run_id ?? '';
  const uptime = num('uptime_in_seconds');
  add(METRIC.UptimeSeconds, 'Seconds', uptime);
  const startedWithinInterval = uptime !== undefined && uptime <= intervalSeconds;

  // Per-interval counters.
  const counters: Record<string, number> = {};
  const deltas: Record<string, number | undefined> = {};
  // The sample's own LLENs ran just before its INFO, so they are in this interval: take them out.
  const own: Record<string, number> = {
    keyspace_hits: sample.ownLookups.hits,
    keyspace_misses: sample.ownLookups.misses,
  };
  for (const [field, name] of Object.entries(INTERVAL_COUNTERS)) {
    const current = num(field);
    if (current === undefined) continue;
    counters[field] = current;
    deltas[field] = intervalCount(current, baseline, field, runId, startedWithinInterval, own[field]);
    add(name, 'Count', deltas[field]);
  }
  add(METRIC.EvictedKeysSinceStart, 'Count', num('evicted_keys'));
  const hits = deltas.keyspace_hits;
  const misses = deltas.keyspace_misses;
  if (hits !== undefined && misses !== undefined && hits + misses > 0) {
    add(METRIC.HitRate, 'Percent', (hits / (hits + misses)) * 100);
  }

  // Commands per second: the interval's average when the same run was seen before, else INFO's
  // instantaneous_ops_per_sec (a ~1.6 s window).
  const commands = num(COMMANDS_COUNTER);
  if (commands !== undefined) counters[COMMANDS_COUNTER] = commands;
  const previousCommands = baseline?.counters[COMMANDS_COUNTER];
  const elapsedSeconds = baseline ? (sample.at.getTime() - baseline.at.getTime()) / 1000 : 0;
  if (
    baseline?.runId === runId &&
    commands !== undefined &&
    previousCommands !== undefined &&
    commands >= previousCommands &&
    elapsedSeconds >= 1
  ) {
    add(METRIC.OpsPerSecond, 'Count/Second', (commands - previousCommands) / elapsedSeconds);
  } else {
    add(METRIC.OpsPerSecond, 'Count/Second', num('instantaneous_ops_per_sec'));
  }

  // Memory.
  const used = num('used_memory');
  const max = num('maxmemory');
  add(METRIC.UsedMemory, 'Bytes', used);
  add(METRIC.UsedMemoryRss, 'Bytes', num('used_memory_rss'));
  add(METRIC.MaxMemory, 'Bytes', max);
  if (used !== undefined && max !== undefined && max > 0) {
    add(METRIC.MemoryUsedPercent, 'Percent', (used / max) * 100);
  }
  add(METRIC.FragmentationRatio, 'None', num('mem_fragmentation_ratio'));
  add(METRIC.FragmentationBytes, 'Bytes', num('mem_fragmentation_bytes'));

  // Clients.
  add(METRIC.ConnectedClients, 'Count', num('connected_clients'));
  add(METRIC.BlockedClients, 'Count', num('blocked_clients'));

  // Keys: DBSIZE per database, and their total.
  let totalKeys = 0;
  for (const [database, keys] of Object.entries(sample.databaseKeys)) {
    totalKeys += keys;
    add(METRIC.Keys, 'Count', keys, { [DATABASE_DIMENSION]: `db${database}` });
  }
  add(METRIC.Keys, 'Count', totalKeys);

  // Persistence: 1 = ok, 0 = broken (the alarms page on 0).
  if (info.rdb_last_bgsave_status !== undefined) {
    add(METRIC.RdbLastBgsaveOk, 'Count', info.rdb_last_bgsave_status === 'ok' ? 1 : 0);
  }
  if (info.aof_enabled === '1') {
    add(METRIC.AofLastWriteOk, 'Count', info.aof_last_write_status === 'ok' ? 1 : 0);
    add(METRIC.AofLastRewriteOk, 'Count', info.aof_last_bgrewrite_status === 'ok' ? 1 : 0);
    add(METRIC.AofSize, 'Bytes', num('aof_current_size'));
  }
  const lastSave = num('rdb_last_save_time');
  if (lastSave !== undefined) {
    add(
      METRIC.SecondsSinceLastSave,
      'Seconds',
      Math.max(0, Math.round(sample.at.getTime() / 1000 - lastSave)),
    );
  }
  add(METRIC.UnsavedChanges, 'Count', num('rdb_changes_since_last_save'));

  // Celery queues.
  for (const [queue, length] of Object.entries(sample.queueLengths)) {
    add(METRIC.CeleryQueueLength, 'Count', length, { [QUEUE_DIMENSION]: queue });
  }
  return { points, baseline: { runId, at: sample.at, counters } };
}

/** The point published when Redis cannot be sampled: the alarms treat 0 (and silence) as down. */
export const REDIS_DOWN: MetricPoint = { name: METRIC.RedisUp, unit: 'Count', value: 0 };
