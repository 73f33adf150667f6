import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CounterBaseline,
  collectRedisMetrics,
  METRIC,
  METRICS_SERVICE,
  type MetricPoint,
  MetricsState,
  type RedisSample,
  sampleRedis,
  toMetricPoints,
} from '../../lambda/metrics';
import { createObservability } from '../../lambda/shared/observability';
import { describeTarget, type RedisTarget } from '../../lambda/shared/redis-connection';
import { formatBytes, type Options, requireOptions, stderrLogger, terminal, UsageError } from '../cli-kit';
import { redisTargetFromUrl } from '../redis-url';

interface MetricsOptions {
  readonly target: RedisTarget;
  readonly queues: string[];
  readonly queueDatabase: number;
  readonly intervalSeconds: number;
  readonly samples: number;
}

export async function run(options: Options): Promise<number> {
  requireOptions(options, { 'redis-url': '<url>' });
  if (options.emfStage !== undefined && options.emf !== true) {
    throw new UsageError(
      '--emf-stage names the Stage dimension of the EMF lines: add --emf, or leave it out',
    );
  }
  const settings: MetricsOptions = {
    target: redisTargetFromUrl(
      String(options.redisUrl),
      process.env,
      options.caFile === undefined ? undefined : String(options.caFile),
    ),
    queues: String(options.queues)
      .split(',')
      .map((queue) => queue.trim())
      .filter((queue) => queue !== ''),
    queueDatabase: Number(options.queueDb),
    intervalSeconds: Number(options.intervalSeconds),
    samples: Number(options.samples),
  };
  return options.emf === true
    ? printEmf(settings, options.emfStage === undefined ? 'manual' : String(options.emfStage))
    : printSummary(settings);
}

/** Exactly the EMF lines the metrics function logs (its own Metrics set-up: namespace, service, Stage). */
async function printEmf(settings: MetricsOptions, stage: string): Promise<number> {
  const { metrics } = createObservability(METRICS_SERVICE, stage);
  const state = new MetricsState();
  for (let sample = 1; sample <= settings.samples; sample++) {
    if (sample > 1) await sleep(settings.intervalSeconds * 1000);
    const result = await collectRedisMetrics({
      redis: settings.target,
      queues: settings.queues,
      queueDatabase: settings.queueDatabase,
      intervalSeconds: settings.intervalSeconds,
      state,
      logger: stderrLogger,
      metrics,
    });
    if (!result.up) {
      terminal.say(`ops metrics: ${result.message}`);
      return 1;
    }
  }
  return 0;
}

async function printSummary(settings: MetricsOptions): Promise<number> {
  let baseline: CounterBaseline | undefined;
  let sample: RedisSample | undefined;
  let points: MetricPoint[] = [];
  for (let index = 1; index <= settings.samples; index++) {
    if (index > 1) {
      terminal.note(`metrics: next sample in ${settings.intervalSeconds} s`);
      await sleep(settings.intervalSeconds * 1000);
    }
    try {
      sample = await sampleRedis(settings.target, {
        queues: settings.queues,
        queueDatabase: settings.queueDatabase,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      terminal.say(`ops metrics: ${reason}`);
      return 1;
    }
    ({ points, baseline } = toMetricPoints(sample, baseline, settings.intervalSeconds));
  }
  if (sample === undefined) return 1;
  process.stdout.write(
    formatSummary(
      describeTarget(settings.target),
      sample,
      points,
      settings.queueDatabase,
      settings.samples > 1,
    ),
  );
  for (const problem of sample.problems) terminal.say(`warning: ${problem}`);
  return 0;
}

/** The readable summary: what an operator looks at first, one line per concern. */
export function formatSummary(
  target: string,
  sample: RedisSample,
  points: readonly MetricPoint[],
  queueDatabase: number,
  perInterval: boolean,
): string {
  const info = sample.info;
  const point = (name: string) => points.find((p) => p.name === name && p.dimensions === undefined)?.value;
  const used = point(METRIC.UsedMemory);
  const max = point(METRIC.MaxMemory);
  const percent = point(METRIC.MemoryUsedPercent);
  const memory =
    used === undefined
      ? 'unknown'
      : max !== undefined && max > 0
        ? `${formatBytes(used)} of ${formatBytes(max)} maxmemory (${(percent ?? 0).toFixed(1)}%)`
        : `${formatBytes(used)}, no maxmemory set`;
  const evictedTotal = point(METRIC.EvictedKeysSinceStart) ?? 0;
  const evictedNow = point(METRIC.EvictedKeys);
  const aof =
    info.aof_enabled === '1'
      ? `AOF on (last write ${info.aof_last_write_status ?? '?'}, last rewrite ${info.aof_last_bgrewrite_status ?? '?'}, ${formatBytes(Number(info.aof_current_size ?? 0))})`
      : 'AOF off';
  const lastSave = point(METRIC.SecondsSinceLastSave);
  const rdb = `last RDB save ${info.rdb_last_bgsave_status ?? '?'}${lastSave === undefined ? '' : `, ${formatAge(lastSave)} ago`}, ${info.rdb_changes_since_last_save ?? '?'} changes since`;
  const databases = points
    .filter((p) => p.name === METRIC.Keys && p.dimensions !== undefined)
    .map((p) => `${Object.values(p.dimensions ?? {})[0]} ${p.value}`);
  const queues = Object.entries(sample.queueLengths).map(([queue, length]) => `${queue} ${length}`);
  const hitRate = point(METRIC.HitRate);
  const ops = point(METRIC.OpsPerSecond);
  const uptime = point(METRIC.UptimeSeconds);
  return [
    `${serverName(info)} at ${target}${uptime === undefined ? '' : `, up ${formatAge(uptime)}`}`,
    `  memory:       ${memory}, policy ${info.maxmemory_policy ?? '?'}, fragmentation ${info.mem_fragmentation_ratio ?? '?'}`,
    `  evictions:    ${evictedTotal} since start${perInterval && evictedNow !== undefined ? `, ${evictedNow} in the last interval` : ''}`,
    `  persistence:  ${aof}; ${rdb}`,
    `  clients:      ${info.connected_clients ?? '?'} connected, ${info.blocked_clients ?? '?'} blocked`,
    `  keys:         ${point(METRIC.Keys) ?? 0}${databases.length > 0 ? ` (${databases.join(', ')})` : ''}`,
    `  queues (db${queueDatabase}): ${queues.length > 0 ? queues.join(', ') : 'none measured'}`,
    `  commands:     ${ops === undefined ? '?' : ops.toFixed(1)}/s${hitRate === undefined ? '' : `, hit rate ${hitRate.toFixed(1)}%`}`,
    '',
  ].join('\n');
}

/**
 * `Redis 7.0.15`, or `Valkey 8.1.1`: Valkey (ElastiCache's default engine) reports its own version in
 * `valkey_version` and keeps `redis_version` at the Redis version it is compatible with (7.2.4).
 */
export function serverName(info: Readonly<Record<string, string>>): string {
  if (info.valkey_version !== undefined) return `Valkey ${info.valkey_version}`;
  return `Redis ${info.redis_version ?? '?'}`;
}

/** `42 s`, `13 min`, `2 h 13 min`, `3 d 4 h`. */
function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
