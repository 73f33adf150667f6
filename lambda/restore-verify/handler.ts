import type { Context } from 'aws-lambda';
import { type VerifiedSnapshot, verifySnapshot } from '../restore/verify-snapshot';
import { deadlineSignal } from '../shared/deadline';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { createS3Client } from '../shared/s3-client';

/**
 * First step of a restore: reads the snapshot from the backup bucket end to end through the RDB
 * verifier (nothing stored) and returns its facts and `keys` metadata. Nothing is touched yet, so a
 * refused snapshot (SnapshotRefused) or a missing one (SnapshotNotFound) ends the restore there.
 */
const stage = requireEnv('STAGE');
const { logger } = createObservability('redis-restore-verify', stage);
const s3 = createS3Client(process.env.S3_ENDPOINT_URL ? { endpointUrl: process.env.S3_ENDPOINT_URL } : {});

export interface VerifyEvent {
  /** Object key of the snapshot, under the snapshot prefix (`snapshots/...`). */
  readonly key: string;
  readonly versionId?: string;
}

/** Not something this function may restore from: no retry will change that. */
export class InvalidRestoreInput extends Error {
  override name = 'InvalidRestoreInput';
}

export async function handler(event: VerifyEvent, context: Context): Promise<VerifiedSnapshot> {
  logger.addContext(context);
  const bucket = requireEnv('BUCKET_NAME');
  const prefix = `${requireEnv('SNAPSHOT_PREFIX')}/`;
  if (typeof event?.key !== 'string' || !event.key.startsWith(prefix) || event.key.includes('..')) {
    throw new InvalidRestoreInput(
      `the restore input needs {"key": "${prefix}<stage>/YYYY/MM/DD/<time>.rdb"}, got ${JSON.stringify(event)}`,
    );
  }
  const result = await verifySnapshot({
    s3,
    bucket,
    key: event.key,
    ...(event.versionId !== undefined && { versionId: event.versionId }),
    signal: deadlineSignal(context.getRemainingTimeInMillis(), 10_000),
  });
  logger.info('snapshot verified', { ...result });
  return result;
}
