import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { BACKUP_SERVICE } from '../shared/metric-names';
import { createObservability } from '../shared/observability';
import { tlsFromEnvironment } from '../shared/redis-connection';
import { createS3Client } from '../shared/s3-client';
import { readPassword } from '../shared/secrets';
import { type BackupResult, deadlineSignal, runBackup } from './backup';

/**
 * The scheduled backup function: a thin shell over runBackup. Configuration comes from the
 * environment the CDK construct sets; the backup user's password from Secrets Manager.
 * A failed backup throws, so Lambda's Errors metric, retries and the failure destination see it.
 */
const stage = requireEnv('STAGE');
const { logger, metrics } = createObservability(BACKUP_SERVICE, stage);
const s3 = createS3Client(process.env.S3_ENDPOINT_URL ? { endpointUrl: process.env.S3_ENDPOINT_URL } : {});
const secrets = new SecretsManagerClient({});

/** Stop this long before the Lambda timeout, leaving time to abort the multipart upload. */
const DEADLINE_MARGIN_MS = 20_000;

export async function handler(_event: unknown, context: Context): Promise<BackupResult> {
  logger.addContext(context);
  try {
    const password = await readPassword(secrets, requireEnv('BACKUP_SECRET_ARN'));
    return await runBackup({
      redis: {
        host: requireEnv('REDIS_HOST'),
        port: Number(requireEnv('REDIS_PORT')),
        tls: tlsFromEnvironment(requireEnv('REDIS_HOST')),
        username: 'backup',
        password,
      },
      s3,
      bucket: requireEnv('BUCKET_NAME'),
      prefix: requireEnv('SNAPSHOT_PREFIX'),
      stage,
      ...(process.env.KMS_KEY_ID && { kmsKeyId: process.env.KMS_KEY_ID }),
      logger,
      metrics,
      signal: deadlineSignal(context.getRemainingTimeInMillis(), DEADLINE_MARGIN_MS),
    });
  } catch (error) {
    // runBackup counted BackupFailed already; a failure before it (the secret) must count too.
    if (!(error instanceof Error && error.name === 'BackupError')) {
      metrics.addMetric('BackupFailed', 'Count', 1);
      logger.error('backup could not start', { error: (error as Error).message });
    }
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
}
