import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { METRICS_SERVICE } from '../shared/metric-names';
import { createObservability } from '../shared/observability';
import type { RedisTarget } from '../shared/redis-connection';
import { createS3Client } from '../shared/s3-client';
import { readPassword } from '../shared/secrets';
import { type CollectResult, collectRedisMetrics, MetricsState, publishRedisDown } from './collect';
import { readMetricsSettings } from './settings';
import { publishSnapshotAge } from './snapshot-age';
import { isTaskStoppedEvent, recordTaskStop, type TaskStopOutcome } from './task-events';
import { publishCertificateExpiry } from './tls-expiry';

/**
 * The metrics function: a thin shell over collectRedisMetrics and publishSnapshotAge (every
 * scheduled run) and recordTaskStop (EventBridge "ECS Task State Change", STOPPED, for the Redis
 * service).
 * Configuration comes from the environment the CDK construct sets (settings.ts: a Fargate stage
 * adds its backup bucket for the snapshot age; an ElastiCache stage has none, and no certificate of
 * its own to watch); the monitor user's password from Secrets Manager, read at every run (a rotated
 * password is picked up at once).
 *
 * Never throws for Redis being unreachable, refusing the credentials, or the secret being
 * unreadable: it logs why and publishes RedisUp = 0, so the schedule keeps running and the alarm
 * fires. A missing environment variable (a deployment mistake) fails the cold start; then no
 * RedisUp is published at all, which the alarm treats as breaching too.
 */
const settings = readMetricsSettings();
const { logger, metrics } = createObservability(METRICS_SERVICE, settings.stage);
const secrets = new SecretsManagerClient({});
const { redisHost, redisPort, tls, snapshots } = settings;
// Only a stage with its own backups has snapshots to age (not ElastiCache: no SYNC backups there).
const s3 = snapshots && createS3Client(snapshots.endpointUrl ? { endpointUrl: snapshots.endpointUrl } : {});

/** Baseline of the per-interval counters and other memory of warm invocations. */
const state = new MetricsState();

export async function handler(event: unknown, context: Context): Promise<CollectResult | TaskStopOutcome> {
  logger.addContext(context);
  if (isTaskStoppedEvent(event)) return recordTaskStop(event, { logger, metrics, state });

  const result = await collect();
  // With TLS on a certificate the stage renews itself: when the certificate Redis serves expires
  // (read from the handshake itself). Not on ElastiCache, whose certificates AWS manages.
  if (settings.publishCertificateExpiry && typeof tls === 'object') {
    await publishCertificateExpiry({ target: { host: redisHost, port: redisPort, tls }, metrics, logger });
  }
  // Independent of Redis: how old the newest snapshot in the backup bucket is (stages with backups).
  if (snapshots && s3) {
    await publishSnapshotAge({
      s3,
      bucket: snapshots.bucket,
      stagePrefix: snapshots.stagePrefix,
      lookbackHours: snapshots.lookbackHours,
      metrics,
      logger,
    });
  }
  return result;
}

/** One scheduled sample of Redis (the monitor password read first). */
async function collect(): Promise<CollectResult> {
  const redis: RedisTarget = { host: redisHost, port: redisPort, username: settings.username, tls };
  let password: string;
  try {
    password = await readPassword(secrets, settings.monitorSecretArn);
  } catch (error) {
    return publishRedisDown(
      { logger, metrics, redis },
      'secret',
      `cannot read the monitor password from Secrets Manager: ${(error as Error).message}`,
    );
  }
  return collectRedisMetrics({
    redis: { ...redis, password },
    queues: settings.queues,
    queueDatabase: settings.queueDatabase,
    intervalSeconds: settings.intervalSeconds,
    state,
    logger,
    metrics,
  });
}
