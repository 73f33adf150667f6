import { Option } from 'commander';
import { wholeNumber } from '../cli-kit';
import type { CommandSpec } from '../command-spec';
import { REDIS_AUTH_ENVIRONMENT, sharedOptions } from './options';

/** Redis's default `databases 16` (the image keeps it): SELECT 16 and above fail. */
export const REDIS_DATABASES = 16;

export const metricsCommand: CommandSpec = {
  name: 'metrics',
  summary: 'sample a Redis as the metrics function does, and summarize it',
  description: [
    'Samples Redis as the metrics function does (INFO, DBSIZE per database, Celery queue lengths) and prints a summary: memory and its % of maxmemory, evictions, persistence, clients, keys, queue lengths. --emf prints instead the CloudWatch EMF lines the function would log. One sample cannot tell per-interval counts; --samples 2 takes a second one --interval-seconds later.',
    "A stage on ElastiCache: --redis-url rediss://monitor@<RedisHost>:6380 (its stack's RedisHost output, the primary endpoint; TLS only), the monitor user's password (MonitorPasswordSecretArn) in REDISCLI_AUTH, no --ca-file: ElastiCache's certificate chains to Amazon's public roots, which the system's trust store holds. The monitor user's ACL allows exactly what this command runs (PING, INFO, SELECT, DBSIZE, LLEN).",
  ].join('\n\n'),
  usage: '--redis-url <url> [options]',
  options: [
    new Option(
      '--redis-url <url>',
      "the Redis, as its monitor user: rediss://monitor@host:6380 (TLS: a Fargate stage's own CA with --ca-file, ElastiCache's primary endpoint without) or redis://monitor@host:6379; required",
    ),
    sharedOptions.caFile(),
    new Option('--queues <names>', 'Celery queues to measure, comma-separated').default('celery'),
    new Option('--queue-db <n>', `database of the Celery broker (0-${REDIS_DATABASES - 1})`)
      .argParser(wholeNumber(0, REDIS_DATABASES - 1))
      .default(0),
    new Option('--samples <n>', 'samples to take').argParser(wholeNumber(1)).default(1),
    new Option(
      '--interval-seconds <s>',
      'seconds between samples (and the interval of per-interval counters)',
    )
      .argParser(wholeNumber(1))
      .default(60),
    new Option('--emf', 'print the CloudWatch EMF lines (one JSON document per line) instead of the summary'),
    new Option('--emf-stage <name>', 'with --emf: the Stage dimension of the metrics (default: manual)'),
  ],
  examples: [
    'REDISCLI_AUTH=<monitor password> npm run -s ops -- metrics --redis-url redis://monitor@127.0.0.1:6379',
    'REDISCLI_AUTH=<monitor password> npm run -s ops -- metrics --redis-url redis://monitor@127.0.0.1:6379 --samples 2 --interval-seconds 10 --emf',
    '# an ElastiCache stage, from a host in its VPC (RedisHost from the stack; the certificate is checked against the system trust store):',
    'REDISCLI_AUTH=<monitor password> npm run -s ops -- metrics --redis-url rediss://monitor@master.prod-redis.abc123.euw1.cache.amazonaws.com:6380',
  ],
  environment: [REDIS_AUTH_ENVIRONMENT],
  exitCodes: [
    [0, 'sampled'],
    [1, 'Redis could not be sampled (the reason on stderr; with --emf, the EMF holds RedisUp = 0)'],
    [2, 'wrong usage'],
  ],
  load: () => import('../actions/metrics'),
  renamed: { '--stage': '--emf-stage, with --emf' },
};
