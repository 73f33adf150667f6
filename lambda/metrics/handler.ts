import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { METRICS_SERVICE } from '../shared/metric-names';
import { createObservability } from '../shared/observability';
import { type RedisTarget, tlsFromEnvironment } from '../shared/redis-connection';
import { createS3Client } from '../shared/s3-client';
import { readPassword } from '../shared/secrets';
import { type CollectResult, collectRedisMetrics, MetricsState, publishRedisDown } from './collect';
import { publishSnapshotAge } from './snapshot-age';
import { isTaskStoppedEvent, recordTaskStop, type TaskStopOutcome } from './task-events';
import { publishCertificateExpiry } from './tls-expiry';

/**
 * The metrics function: a thin shell over collectRedisMetrics and publishSnapshotAge (every
 * scheduled run) and recordTaskStop (EventBridge "ECS Task State Change", STOPPED, for the Redis
 * service).
 * Configuration comes from the environment the CDK construct sets; the monitor user's password
 * from Secrets Manager, read at every run (a rotated password is picked up at once).
 *
 * Never throws for Redis being unreachable, refusing the credentials, or the secret being
 * unreadable: it logs why and publishes RedisUp = 0, so the schedule keeps running and the alarm
 * fires. A missing environment variable (a deployment mistake) fails the cold start; then no
 * RedisUp is published at all, which the alarm treats as breaching too.
 */
const stage = requireEnv('STAGE');
const { logger, metrics } = createObservability(METRICS_SERVICE, stage);
const secrets = new SecretsManagerClient({});
const redisHost = requireEnv('REDIS_HOST');
const redisPort = Number(requireEnv('REDIS_PORT'));
const secretArn = requireEnv('MONITOR_SECRET_ARN');
const intervalSeconds = Number(requireEnv('METRICS_INTERVAL_SECONDS'));
const queues = (process.env.CELERY_QUEUES ?? 'celery')
  .split(',')
  .map((queue) => queue.trim())
  .filter((queue) => queue !== '');
const queueDatabase = Number(process.env.CELERY_QUEUE_DATABASE ?? '0');
const tls = tlsFromEnvironment(redisHost);
const s3 = createS3Client(process.env.S3_ENDPOINT_URL ? { endpointUrl: process.env.S3_ENDPOINT_URL } : {});
const backupBucket = requireEnv('BACKUP_BUCKET');
const snapshotStagePrefix = requireEnv('SNAPSHOT_STAGE_PREFIX');
const snapshotLookbackHours = Number(requireEnv('SNAPSHOT_LOOKBACK_HOURS'));

/** Baseline of the per-interval counters and other memory of warm invocations. */
const state = new MetricsState();

export async function handler(event: unknown, context: Context): Promise<CollectResult | TaskStopOutcome> {
  logger.addContext(context);
  if (isTaskStoppedEvent(event)) return recordTaskStop(event, { logger, metrics, state });

  const result = await collect();
  // With TLS: when the certificate Redis serves expires (read from the handshake itself).
  if (typeof tls === 'object') {
    await publishCertificateExpiry({ target: { host: redisHost, port: redisPort, tls }, metrics, logger });
  }
  // Independent of Redis: how old the newest snapshot in the backup bucket is.
  await publishSnapshotAge({
    s3,
    bucket: backupBucket,
    stagePrefix: snapshotStagePrefix,
    lookbackHours: snapshotLookbackHours,
    metrics,
    logger,
  });
  return result;
}

/** One scheduled sample of Redis (the monitor password read first). */
async function collect(): Promise<CollectResult> {
  const redis: RedisTarget = { host: redisHost, port: redisPort, username: 'monitor', tls };
  let password: string;
  try {
    password = await readPassword(secrets, secretArn);
  } catch (error) {
    return publishRedisDown(
      { logger, metrics, redis },
      'secret',
      `cannot read the monitor password from Secrets Manager: ${(error as Error).message}`,
    );
  }
  return collectRedisMetrics({
    redis: { ...redis, password },
    queues,
    queueDatabase,
    intervalSeconds,
    state,
    logger,
    metrics,
  });
}
