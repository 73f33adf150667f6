import { setTimeout as sleep } from 'node:timers/promises';
import { collectRedisMetrics, METRICS_SERVICE, MetricsState } from '../../lambda/metrics';
import { createObservability } from '../../lambda/shared/observability';
import { parseOptions, required, stderrLogger, UsageError } from '../cli-kit';
import { redisTargetFromUrl } from '../redis-url';

export const usage = `metrics --redis-url <redis://monitor@host:6379> [--queues <a,b>] [--queue-db <n>]
         [--interval-seconds <s>] [--samples <n>] [--stage <s>]
    Samples Redis as the metrics function does (INFO, DBSIZE per database, Celery queue lengths)
    and prints the CloudWatch EMF document(s) it would log, one JSON line each. The password comes
    from REDISCLI_AUTH. A single sample is a cold start: per-interval counters (EvictedKeys...)
    appear only if they are 0 or Redis started within --interval-seconds; --samples 2 takes a
    second sample --interval-seconds later and prints the real per-interval values.
    Defaults: --queues celery, --queue-db 0, --interval-seconds 60, --samples 1, --stage manual.
    Exit code 1 when Redis could not be sampled (the EMF then holds RedisUp = 0).`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    'redis-url': { type: 'string' },
    queues: { type: 'string', default: 'celery' },
    'queue-db': { type: 'string', default: '0' },
    'interval-seconds': { type: 'string', default: '60' },
    samples: { type: 'string', default: '1' },
    stage: { type: 'string', default: 'manual' },
  });
  const target = redisTargetFromUrl(required(values, 'redis-url'));
  const intervalSeconds = positiveInteger(values['interval-seconds'], 'interval-seconds');
  const samples = positiveInteger(values.samples, 'samples');
  const queueDatabase = Number(values['queue-db']);
  if (!Number.isInteger(queueDatabase) || queueDatabase < 0) {
    throw new UsageError(`--queue-db: expected a database index (0, 1, ...), got '${values['queue-db']}'`);
  }
  const queues = values.queues
    .split(',')
    .map((queue) => queue.trim())
    .filter((queue) => queue !== '');

  // The function's own Metrics set-up (namespace, service and Stage dimensions): stdout gets
  // exactly the EMF lines the function logs.
  const { metrics } = createObservability(METRICS_SERVICE, values.stage);
  const state = new MetricsState();
  for (let sample = 1; sample <= samples; sample++) {
    if (sample > 1) await sleep(intervalSeconds * 1000);
    const result = await collectRedisMetrics({
      redis: target,
      queues,
      queueDatabase,
      intervalSeconds,
      state,
      logger: stderrLogger,
      metrics,
    });
    if (!result.up) {
      process.stderr.write(`ops metrics: ${result.message}\n`);
      return 1;
    }
  }
  return 0;
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name}: expected a positive whole number, got '${text}'`);
  }
  return value;
}
