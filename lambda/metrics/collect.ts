import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describeTarget, type RedisTarget } from '../shared/redis-connection';
import { type CounterBaseline, type MetricPoint, REDIS_DOWN, toMetricPoints } from './redis-metrics';
import {
  type RedisSample,
  SampleError,
  type SampleFailureReason,
  type SampleOptions,
  sampleRedis,
} from './sample';

/** The part of Powertools' Logger the metrics code uses (a Powertools Logger fits). */
export interface MetricsLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/**
 * What the function remembers between warm invocations (module scope). A cold start begins empty:
 * see `intervalCount` for what that means for the per-interval counters.
 */
export class MetricsState {
  /** The counters of the last successful sample. Kept while Redis is down, so nothing is lost. */
  baseline: CounterBaseline | undefined;
  /** Databases seen non-empty: DBSIZE'd again, so an emptied one reports 0 instead of vanishing. */
  readonly knownDatabases = new Set<number>();
  /** ECS tasks whose stop was already counted (EventBridge delivers at least once). */
  readonly countedTaskStops: string[] = [];
}

export interface CollectDeps {
  /** The Redis server and the `monitor` user's credentials. */
  readonly redis: RedisTarget;
  /** Celery queues to measure. @default ['celery'] */
  readonly queues?: readonly string[];
  /** Database of the Celery broker. @default 0 */
  readonly queueDatabase?: number;
  /** The schedule's interval: per-interval counters on a cold start, see `intervalCount`. */
  readonly intervalSeconds: number;
  readonly state: MetricsState;
  readonly logger: MetricsLogger;
  /** Powertools Metrics with the Stage default dimension; collect publishes (flushes) it. */
  readonly metrics: Metrics;
  readonly connection?: SampleOptions['connection'];
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export type CollectResult =
  | { readonly up: true; readonly points: readonly MetricPoint[]; readonly problems: readonly string[] }
  | { readonly up: false; readonly reason: SampleFailureReason | 'secret'; readonly message: string };

/**
 * One metrics run: samples Redis, publishes the points as EMF and remembers the baseline. NEVER
 * throws: when Redis cannot be sampled it logs why (unreachable, credentials refused, timeout) and
 * publishes RedisUp = 0, so the schedule keeps running and the alarm sees the outage.
 */
export async function collectRedisMetrics(deps: CollectDeps): Promise<CollectResult> {
  const { state, logger } = deps;
  let sample: RedisSample;
  try {
    sample = await sampleRedis(deps.redis, {
      ...(deps.queues && { queues: deps.queues }),
      ...(deps.queueDatabase !== undefined && { queueDatabase: deps.queueDatabase }),
      extraDatabases: [...state.knownDatabases],
      ...(deps.connection && { connection: deps.connection }),
      ...(deps.now && { now: deps.now }),
    });
  } catch (error) {
    const reason = error instanceof SampleError ? error.reason : 'error';
    return publishRedisDown(deps, reason, (error as Error).message);
  }
  const { points, baseline } = toMetricPoints(sample, state.baseline, deps.intervalSeconds);
  state.baseline = baseline;
  for (const [database, keys] of Object.entries(sample.databaseKeys)) {
    if (keys > 0) state.knownDatabases.add(Number(database));
  }
  if (sample.problems.length > 0) {
    logger.warn('some Redis metrics could not be read', { problems: sample.problems });
  }
  publishPoints(deps.metrics, points, sample.at);
  return { up: true, points, problems: sample.problems };
}

/**
 * Logs why Redis could not be sampled and publishes RedisUp = 0. The baseline is kept: the next
 * successful sample counts everything since the last one, across the outage.
 */
export function publishRedisDown(
  deps: Pick<CollectDeps, 'logger' | 'metrics' | 'redis' | 'now'>,
  reason: SampleFailureReason | 'secret',
  message: string,
): CollectResult {
  deps.logger.error('Redis could not be sampled: publishing RedisUp = 0', {
    reason,
    error: message,
    redis: describeTarget(deps.redis),
  });
  publishPoints(deps.metrics, [REDIS_DOWN], (deps.now ?? (() => new Date()))());
  return { up: false, reason, message };
}

/**
 * Publishes points as EMF: the Stage-only points in one document, each point with extra
 * dimensions (Database, Queue) in its own (EMF applies one dimension set to a whole document).
 */
export function publishPoints(metrics: Metrics, points: readonly MetricPoint[], at: Date): void {
  for (const point of points) {
    if (!point.dimensions) continue;
    const single = metrics.singleMetric();
    single.setTimestamp(at);
    for (const [name, value] of Object.entries(point.dimensions)) single.addDimension(name, value);
    single.addMetric(point.name, point.unit, point.value); // a single metric is published at once
  }
  metrics.setTimestamp(at);
  for (const point of points) {
    if (!point.dimensions) metrics.addMetric(point.name, point.unit, point.value);
  }
  metrics.publishStoredMetrics();
}
