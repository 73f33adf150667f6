import { requireEnv } from '../shared/env';
import { type RedisTarget, tlsFromEnvironment } from '../shared/redis-connection';

/** Where the newest snapshot is looked up (a stage whose own backup function writes snapshots). */
export interface SnapshotAgeSettings {
  readonly bucket: string;
  /** The stage's snapshot folder, with its trailing slash: `snapshots/prod/`. */
  readonly stagePrefix: string;
  readonly lookbackHours: number;
  /** An S3-compatible endpoint (tests). @default AWS S3 */
  readonly endpointUrl?: string;
}

/** The metrics function's configuration, as the CDK construct of the stage's engine sets it. */
export interface MetricsSettings {
  readonly stage: string;
  readonly redisHost: string;
  readonly redisPort: number;
  /** The ACL user the samples run as. */
  readonly username: string;
  readonly monitorSecretArn: string;
  readonly intervalSeconds: number;
  readonly queues: readonly string[];
  readonly queueDatabase: number;
  readonly tls: RedisTarget['tls'];
  /**
   * Publish TlsCertificateDaysLeft, the expiry of the certificate Redis serves: only with TLS, and
   * only where the stage renews that certificate itself (not on ElastiCache, whose certificates AWS
   * manages).
   */
  readonly publishCertificateExpiry: boolean;
  /** Publish LatestSnapshotAgeHours from this bucket. Unset: no snapshot age (no SYNC backups, e.g. ElastiCache). */
  readonly snapshots?: SnapshotAgeSettings;
}

/**
 * Reads the settings from the environment. Required: STAGE, REDIS_HOST, REDIS_PORT,
 * MONITOR_SECRET_ARN, METRICS_INTERVAL_SECONDS. Optional:
 * - CELERY_QUEUES (comma-separated, default `celery`), CELERY_QUEUE_DATABASE (default 0);
 * - REDIS_TLS_CA (TLS verified with this CA bundle) or REDIS_TLS=true (TLS with the system CAs);
 * - MONITOR_USERNAME (default `monitor`);
 * - PUBLISH_TLS_CERTIFICATE_EXPIRY: `true` (the default, with TLS) or `false` (certificates AWS manages);
 * - BACKUP_BUCKET: with it, SNAPSHOT_STAGE_PREFIX and SNAPSHOT_LOOKBACK_HOURS are required too
 *   (and S3_ENDPOINT_URL is honoured); without it, no snapshot age is published.
 * Throws, naming the variable, for a missing or malformed one: a deployment mistake fails the cold start.
 */
export function readMetricsSettings(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  const stage = requireEnv('STAGE', env);
  const redisHost = requireEnv('REDIS_HOST', env);
  const tls = tlsFromEnvironment(redisHost, env);
  const bucket = env.BACKUP_BUCKET;
  const publishExpiry = env.PUBLISH_TLS_CERTIFICATE_EXPIRY ?? 'true';
  if (publishExpiry !== 'true' && publishExpiry !== 'false') {
    throw new Error(
      `environment variable PUBLISH_TLS_CERTIFICATE_EXPIRY is ${publishExpiry}: allowed: true, false`,
    );
  }
  return {
    stage,
    redisHost,
    redisPort: Number(requireEnv('REDIS_PORT', env)),
    username: env.MONITOR_USERNAME || 'monitor',
    monitorSecretArn: requireEnv('MONITOR_SECRET_ARN', env),
    intervalSeconds: Number(requireEnv('METRICS_INTERVAL_SECONDS', env)),
    queues: (env.CELERY_QUEUES ?? 'celery')
      .split(',')
      .map((queue) => queue.trim())
      .filter((queue) => queue !== ''),
    queueDatabase: Number(env.CELERY_QUEUE_DATABASE ?? '0'),
    tls,
    publishCertificateExpiry: typeof tls === 'object' && publishExpiry === 'true',
    ...(bucket !== undefined &&
      bucket !== '' && {
        snapshots: {
          bucket,
          stagePrefix: requireEnv('SNAPSHOT_STAGE_PREFIX', env),
          lookbackHours: Number(requireEnv('SNAPSHOT_LOOKBACK_HOURS', env)),
          ...(env.S3_ENDPOINT_URL && { endpointUrl: env.S3_ENDPOINT_URL }),
        },
      }),
  };
}
