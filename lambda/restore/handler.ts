import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { deadlineSignal } from '../shared/deadline';
import { requireEnv } from '../shared/env';
import { createObservability } from '../shared/observability';
import { createS3Client } from '../shared/s3-client';
import { installSnapshot, RestoreError } from './install-snapshot';
import { previousDataFolder, reinstatePreviousData } from './reinstate';

/**
 * The restore function of the Step Functions restore: it mounts Redis's EFS file system (through
 * its own access point, as the redis user, at DATA_DIR = /mnt/data, which the Redis task sees as
 * /data) while the Redis service is scaled to 0.
 *
 * - `install`: streams the verified snapshot version from S3 into installSnapshot: old data to
 *   `pre-restore-<restore time>/`, the snapshot becomes what Redis loads.
 * - `reinstate`: the undo of the failure path: puts `pre-restore-<restore time>/` back. Safe to
 *   call whatever happened before: if nothing had been switched it changes nothing.
 *
 * The restore time (the execution's start) names the folder, so the undo finds it even when the
 * install's own result was lost (a timeout). Paths in results are relative to the data directory.
 */
const stage = requireEnv('STAGE');
const { logger } = createObservability('redis-restore', stage);
const s3 = createS3Client(process.env.S3_ENDPOINT_URL ? { endpointUrl: process.env.S3_ENDPOINT_URL } : {});

/** Give up the download this long before the Lambda timeout: the old data stays in place. */
const DEADLINE_MARGIN_MS = 30_000;

export type RestoreEvent =
  | {
      readonly action: 'install';
      readonly snapshot: { readonly key: string; readonly versionId?: string };
      /** ISO time the restore started (the execution's start time). */
      readonly restoreTime: string;
    }
  | { readonly action: 'reinstate'; readonly restoreTime: string };

export interface InstallResult {
  readonly action: 'install';
  readonly source: string;
  readonly bytes: number;
  readonly rdbVersion: number;
  readonly crc64: string;
  readonly installedAs: string;
  /** Where the previous data is, relative to the data directory (`/data` in the container). */
  readonly previousData: string | null;
  /** False when the directory held no Redis data: undoing then leaves Redis empty, as it was. */
  readonly heldData: boolean;
  readonly warnings: readonly string[];
}

export interface ReinstateHandlerResult {
  readonly action: 'reinstate';
  readonly reinstated: boolean;
  readonly summary: string;
  readonly previousData: string | null;
  readonly setAside: string | null;
  readonly warnings: readonly string[];
}

export async function handler(
  event: RestoreEvent,
  context: Context,
): Promise<InstallResult | ReinstateHandlerResult> {
  logger.addContext(context);
  const dataDir = requireEnv('DATA_DIR');
  const restoreTime = new Date(event.restoreTime);
  if (Number.isNaN(restoreTime.getTime())) throw new RestoreError(`invalid restoreTime ${event.restoreTime}`);
  const show = (path: string | undefined) => (path === undefined ? null : relative(dataDir, path));

  if (event.action === 'install') {
    const bucket = requireEnv('BUCKET_NAME');
    const { key, versionId } = event.snapshot;
    const source = `s3://${bucket}/${key}${versionId ? `?versionId=${versionId}` : ''}`;
    logger.info('install starting', { source, dataDir });
    const signal = deadlineSignal(context.getRemainingTimeInMillis(), DEADLINE_MARGIN_MS);
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId && { VersionId: versionId }) }),
      { abortSignal: signal },
    );
    const body = object.Body as Readable;
    const onAbort = () => body.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await installSnapshot({ dataDir, snapshot: body, source, now: restoreTime });
      const summary: InstallResult = {
        action: 'install',
        source,
        bytes: result.bytes,
        rdbVersion: result.rdbVersion,
        crc64: result.crc64,
        installedAs: show(result.installedAs) as string,
        previousData: show(result.previousData),
        heldData: result.heldData,
        warnings: result.warnings,
      };
      logger.info('install complete', { ...summary });
      return summary;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  if (event.action === 'reinstate') {
    const folder = previousDataFolder(dataDir, restoreTime);
    const name = relative(dataDir, folder);
    if (!existsSync(folder)) {
      const summary = `nothing to put back: no ${name}/ (the install stopped before it switched: the previous data never left)`;
      logger.info('reinstate: nothing to do', { folder });
      return {
        action: 'reinstate',
        reinstated: false,
        summary,
        previousData: null,
        setAside: null,
        warnings: [],
      };
    }
    const result = await reinstatePreviousData({ dataDir, previousData: folder });
    const summary = result.reinstated
      ? `the previous data (${name}/) is back in place; the restored data was set aside in ${show(result.setAside)}/`
      : `nothing to put back: ${result.reason}`;
    logger.info('reinstate complete', { summary, warnings: result.warnings });
    return {
      action: 'reinstate',
      reinstated: result.reinstated,
      summary,
      previousData: name,
      setAside: show(result.setAside),
      warnings: result.warnings,
    };
  }
  throw new RestoreError(`unknown action ${JSON.stringify((event as { action?: unknown }).action)}`);
}
