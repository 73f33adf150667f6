import { once } from 'node:events';
import { pipeline, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompleteMultipartUploadCommandOutput,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type RdbVerification, RdbVerifier } from '../shared/rdb';
import { describeTarget, type RedisTarget } from '../shared/redis-connection';
import { readRedisFacts } from '../shared/redis-facts';
import { openRdbStream, type RdbFraming, type RdbStream } from '../shared/replication';
import { snapshotKey } from '../shared/snapshots/snapshot-key';

// Kept importable from here: the backup's callers pass it as `signal`.
export { deadlineSignal } from '../shared/deadline';

/** The part of Powertools' Logger the backup uses (a Powertools Logger fits). */
export interface BackupLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** The part of Powertools' Metrics the backup uses (a Powertools Metrics fits; the caller publishes). */
export interface BackupMetrics {
  addMetric(name: string, unit: 'Count' | 'Bytes' | 'Milliseconds', value: number): unknown;
}

export interface BackupDeps {
  /** The Redis server and the `backup` ACL user's credentials. */
  readonly redis: RedisTarget;
  readonly s3: S3Client;
  readonly bucket: string;
  /** Key prefix, e.g. `redis-backups` ('' for none). */
  readonly prefix: string;
  /** Stage name, the key's second level (`dev`, `prod`...). */
  readonly stage: string;
  /** Encrypt with this KMS key (`aws:kms`). @default the bucket's default encryption */
  readonly kmsKeyId?: string;
  readonly logger: BackupLogger;
  /** BackupSucceeded, BackupFailed, BackupBytes, BackupDurationMs are added; the caller publishes. */
  readonly metrics?: BackupMetrics;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Aborting it (e.g. the Lambda deadline, see {@link deadlineSignal}) fails the backup cleanly. */
  readonly signal?: AbortSignal;
  /**
   * Multipart part size (>= 5 MiB; 10,000 parts at most, so 8 MiB allows 80 GB). The backup's
   * data buffers stay under about (queueSize + 2) x partSize + 3 MiB (parts in flight, the part
   * being assembled, stream buffers). @default 8 MiB
   */
  readonly partSizeBytes?: number;
  /**
   * Accept an RDB without a checksum, from a Redis run with `rdbchecksum no` (recorded as
   * `checksum: disabled`). The project's Redis always writes one. @default false
   */
  readonly allowMissingChecksum?: boolean;
  /** Parts uploaded concurrently. @default 4 */
  readonly queueSize?: number;
  /** @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Fail when Redis sends nothing for this long (not counted while S3 is the bottleneck). @default 60_000 */
  readonly idleTimeoutMs?: number;
  /** After a failure, how long to let in-flight part uploads settle before forcing the abort. @default 5_000 */
  readonly abortGraceMs?: number;
  /**
   * After a failure (the deadline) that comes once the whole RDB was verified, when only the last
   * part and the completion are in flight: how long to let them finish, since a completed upload
   * is a good snapshot. Keep it under the Lambda's deadline margin (20 s). @default 12_000
   */
  readonly completionGraceMs?: number;
  /**
   * Called as the RDB arrives: bytes received so far, and the size Redis announced (disk framing;
   * undefined for a diskless stream). For a progress display.
   */
  readonly onProgress?: (receivedBytes: number, announcedBytes: number | undefined) => void;
  /** Called once the whole RDB is verified, while its last parts may still be going to S3. */
  readonly onVerified?: (verification: RdbVerification) => void;
  /**
   * Fault injection for tests: a Transform placed between the replication stream and the
   * verifier (corrupt, truncate, slow down, observe progress). Not for production use.
   */
  readonly interpose?: () => Transform;
}

export interface BackupResult {
  readonly bucket: string;
  readonly key: string;
  /** Size of the RDB (= the object). */
  readonly bytes: number;
  /** CRC64 (Jones) of the RDB without its trailer: 16 hex digits. */
  readonly crc64: string;
  readonly rdbVersion: number;
  readonly redisVersion: string;
  /** Keys in all databases at the start of the backup (INFO keyspace). */
  readonly keys: number;
  readonly durationMs: number;
  /** `disabled`: Redis runs with rdbchecksum no (zero trailer); the RDB was still checked for its framing. */
  readonly checksum: 'verified' | 'disabled';
  /** How Redis sent the RDB: `disk` (repl-diskless-sync no) or `diskless`. */
  readonly framing: RdbFraming;
  /** ISO time the backup started (the key's timestamp). */
  readonly startedAt: string;
  /** S3 version id of the object, when the bucket is versioned. */
  readonly versionId?: string;
  /** Whether the end-of-backup tags (bytes, crc64, checksum, duration-ms) were written. */
  readonly tagged: boolean;
}

/**
 * The backup failed; no object was created (or, when the failure came while S3 was completing a
 * verified upload, the message says the object may exist and is then complete and verified). The
 * message names the server, bucket and key (no secrets).
 */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** 8 MiB x 4: ~50 MiB of buffers; measured peak RSS ~180-210 MiB (under tsx) for 300 and 600 MB RDBs. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;

/**
 * Streams a consistent RDB snapshot of Redis into S3, verified on the way, with bounded memory.
 *
 * 1. INFO (as the backup user, via ioredis): Redis version and key count; fails fast on wrong
 *    credentials or an unreachable server.
 * 2. The replication handshake (`REPLCONF capa eof`, `REPLCONF rdb-only 1`, `SYNC`) on a raw
 *    socket; Redis forks and streams the RDB.
 * 3. socket -> RdbVerifier -> multipart Upload: parts of `partSizeBytes`, `queueSize` at a time;
 *    backpressure pauses the socket when S3 is slower than Redis.
 * 4. The verifier holds back the RDB's last 9 bytes (EOF opcode + CRC64) until it has checked
 *    them, so the Upload's body only ENDS for a verified RDB. The last part, and so
 *    CompleteMultipartUpload (or the single PutObject of a small RDB), can only be sent after a
 *    successful verification. Any failure errors the body instead, and the upload is aborted:
 *    no object, partial or unverified, ever becomes visible.
 * 5. After completion, the values known only at the end (bytes, crc64, checksum, duration-ms)
 *    are written as object tags (user metadata is fixed when the upload starts and holds
 *    redis-version, rdb-version, keys, stage, started-at, framing).
 *
 * Rejects with a BackupError (Redis refused, connection lost, verification failed, S3 failed,
 * deadline) after the multipart upload was aborted.
 */
export async function runBackup(deps: BackupDeps): Promise<BackupResult> {
  const clock = deps.clock ?? (() => new Date());
  const startedAt = clock();
  const redisName = describeTarget(deps.redis);
  let target = `s3://${deps.bucket}/`;
  try {
    const key = snapshotKey(deps.prefix, deps.stage, startedAt);
    target += key;
    deps.logger.info('backup starting', { redis: redisName, bucket: deps.bucket, key });
    const result = await backup(deps, key, startedAt, clock);
    deps.metrics?.addMetric('BackupSucceeded', 'Count', 1);
    deps.metrics?.addMetric('BackupBytes', 'Bytes', result.bytes);
    deps.metrics?.addMetric('BackupDurationMs', 'Milliseconds', result.durationMs);
    deps.logger.info('backup complete', { ...result });
    return result;
  } catch (error) {
    deps.metrics?.addMetric('BackupFailed', 'Count', 1);
    const failure = new BackupError(`backup of Redis ${redisName} to ${target} failed: ${messageOf(error)}`, {
      cause: error,
    });
    deps.logger.error('backup failed', { error: failure.message, redis: redisName, target });
    throw failure;
  }
}

async function backup(
  deps: BackupDeps,
  key: string,
  startedAt: Date,
  clock: () => Date,
): Promise<BackupResult> {
  const { signal, logger } = deps;
  checkNotAborted(signal);
  const facts = await readRedisFacts(deps.redis, { connectTimeoutMs: deps.connectTimeoutMs });
  logger.info('redis info', { redisVersion: facts.redisVersion, keys: facts.keys });
  checkNotAborted(signal);

  const source = await openRdbStream({
    ...deps.redis,
    connectTimeoutMs: deps.connectTimeoutMs,
    idleTimeoutMs: deps.idleTimeoutMs,
    signal,
  });
  const framing = source.framing ?? 'disk';
  logger.info('replication stream open', { framing, announcedBytes: source.expectedLength });

  // From here on every failure goes through fail(): it destroys the streams, which errors the
  // Upload's body (so the Upload stops and aborts), and rejects `failed`.
  const verifier = new RdbVerifier({ allowMissingChecksum: deps.allowMissingChecksum ?? false });
  if (deps.onVerified) verifier.once('verified', deps.onVerified);
  const stages: (RdbStream | Transform)[] = [
    source,
    ...(deps.onProgress ? [progressCounter(deps.onProgress, source)] : []),
    ...(deps.interpose ? [deps.interpose()] : []),
    verifier,
  ];
  let failure: Error | undefined;
  let rejectFailed: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => {});
  const fail = (error: Error): void => {
    if (failure !== undefined) return;
    failure = error;
    rejectFailed(error);
    // Once the whole RDB is verified, the streams are left alone: Redis has sent everything, what
    // the verifier still buffers is good, and the Upload may finish sending it and complete (see
    // completionGraceMs). Destroying any stage would make the pipeline destroy the verifier too.
    if (verifier.result === undefined) for (const stage of stages) stage.destroy(error);
  };
  pipeline(stages, (error) => {
    // A premature close or an AbortError means the consumer (the Upload) stopped reading after
    // an S3 failure: the Upload's own error, from done(), says why.
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (error && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ABORT_ERR') fail(error);
  });
  const onAbort = () => fail(new Error(`aborted: ${messageOf(signal?.reason ?? 'signal')}`));
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const finish = (output: CompleteMultipartUploadCommandOutput, verification: RdbVerification) => {
    const durationMs = clock().getTime() - startedAt.getTime();
    return tagSnapshot(deps, key, verification, durationMs).then(
      (tagged): BackupResult => ({
        bucket: deps.bucket,
        key,
        bytes: verification.bytes,
        crc64: verification.crc64,
        rdbVersion: verification.rdbVersion,
        redisVersion: facts.redisVersion,
        keys: facts.keys,
        durationMs,
        checksum: verification.checksum,
        framing,
        startedAt: startedAt.toISOString(),
        ...(output.VersionId !== undefined && { versionId: output.VersionId }),
        tagged,
      }),
    );
  };

  let upload: Upload | undefined;
  let uploaded: Promise<CompleteMultipartUploadCommandOutput> | undefined;
  let completed: CompleteMultipartUploadCommandOutput | undefined;
  let uploadError: Error | undefined;
  try {
    // The header (first 9 bytes) is checked before the upload starts: its version goes into the
    // metadata, which S3 fixes at CreateMultipartUpload/PutObject.
    const [rdbVersion] = (await Promise.race([once(verifier, 'header'), failed])) as [number];
    upload = new Upload({
      client: deps.s3,
      queueSize: deps.queueSize ?? DEFAULT_QUEUE_SIZE,
      partSize: deps.partSizeBytes ?? DEFAULT_PART_SIZE,
      leavePartsOnError: false,
      params: {
        Bucket: deps.bucket,
        Key: key,
        Body: verifier,
        ContentType: 'application/octet-stream',
        // Never replace an existing snapshot (two backups started in the same second share a key):
        // S3 refuses the completion with 412 instead, and the second backup fails loudly.
        IfNoneMatch: '*',
        Metadata: {
          'redis-version': facts.redisVersion,
          'rdb-version': String(rdbVersion),
          keys: String(facts.keys),
          stage: deps.stage,
          'started-at': startedAt.toISOString(),
          framing,
        },
        ...(deps.kmsKeyId !== undefined && { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: deps.kmsKeyId }),
      },
    });
    uploaded = upload.done();
    uploaded.then(
      (output) => {
        completed = output;
      },
      (error: Error) => {
        uploadError = error;
      },
    );
    const output = await Promise.race([uploaded, failed]);
    const verification = verifier.result;
    if (verification === undefined)
      throw new Error('the upload completed without a verified RDB (internal error)');
    return await finish(output, verification);
  } catch (error) {
    const primary = failure ?? (error as Error);
    fail(primary);
    if (upload === undefined || uploaded === undefined) throw primary;
    // Verified to the last byte: only the completion is left, and a completed upload is a good
    // snapshot, so it gets more time than a failing one needs to stop.
    const verifiedAll = verifier.result !== undefined;
    const graceMs = verifiedAll ? (deps.completionGraceMs ?? 12_000) : (deps.abortGraceMs ?? 5_000);
    const settled = await settlesWithin(uploaded, graceMs);
    if (!settled) {
      logger.warn('the upload did not stop within the grace period after the failure: forcing the abort', {
        graceMs,
      });
    }
    // A failure (the deadline) that came while the upload of a verified RDB was completing: the
    // object is complete and verified, so this is a success after all.
    const verification = verifier.result;
    if (completed !== undefined && verification !== undefined) {
      logger.warn('the upload completed as the backup was failing: keeping the verified snapshot', {
        error: primary.message,
      });
      return await finish(completed, verification);
    }
    await abortUpload(deps, upload, key);
    if (verifiedAll) {
      // S3 may have completed the upload even so: after we stopped waiting, or before an answer
      // that got lost (a retried completion then fails). Say what S3 answered, and what that means.
      const s3Said = settled
        ? `S3 answered: ${messageOf(uploadError ?? 'nothing')}`
        : `S3 did not answer within ${graceMs} ms`;
      throw new Error(
        `${primary.message}, while the upload of the verified RDB was finishing (${s3Said}). ` +
          `The upload was aborted; if S3 completed it first, ${key} exists and is a complete, verified snapshot`,
        { cause: primary },
      );
    }
    throw primary;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Makes sure the multipart upload is gone. The Upload aborts it itself when its body errors (the
 * caller waited, bounded, for that); this stops it if it is stuck, and aborts once more
 * explicitly: S3 may keep parts whose upload was in flight during the first abort, and a stuck
 * Upload may not have aborted at all.
 */
async function abortUpload(deps: BackupDeps, upload: Upload, key: string): Promise<void> {
  const graceMs = deps.abortGraceMs ?? 5_000;
  await upload.abort();
  const uploadId = upload.uploadId;
  if (uploadId === undefined) return;
  try {
    await deps.s3.send(
      new AbortMultipartUploadCommand({ Bucket: deps.bucket, Key: key, UploadId: uploadId }),
      {
        abortSignal: AbortSignal.timeout(graceMs),
      },
    );
    deps.logger.info('multipart upload aborted', { key, uploadId });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchUpload') return; // already aborted by the Upload itself
    deps.logger.warn(
      'AbortMultipartUpload failed: the bucket lifecycle rule for incomplete uploads will clean up',
      {
        key,
        uploadId,
        error: messageOf(error),
      },
    );
  }
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

async function tagSnapshot(
  deps: BackupDeps,
  key: string,
  verification: RdbVerification,
  durationMs: number,
): Promise<boolean> {
  // After the deadline fired (the upload completed within the grace), tagging gets 3 s, not the
  // client's 120 s x 3 attempts: the object is complete either way; the Lambda must not time out.
  const budget = deps.signal?.aborted ? AbortSignal.timeout(3_000) : undefined;
  try {
    await deps.s3.send(
      new PutObjectTaggingCommand({
        Bucket: deps.bucket,
        Key: key,
        Tagging: {
          TagSet: [
            { Key: 'bytes', Value: String(verification.bytes) },
            { Key: 'crc64', Value: verification.crc64 },
            { Key: 'checksum', Value: verification.checksum },
            { Key: 'duration-ms', Value: String(durationMs) },
          ],
        },
      }),
      budget ? { abortSignal: budget } : {},
    );
    return true;
  } catch (error) {
    deps.logger.warn('the snapshot is complete and verified, but tagging it failed', {
      key,
      error: messageOf(error),
    });
    return false;
  }
}

function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error(`aborted before the transfer started: ${messageOf(signal.reason)}`);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Reports the bytes that passed, chunk by chunk. */
function progressCounter(
  onProgress: (receivedBytes: number, announcedBytes: number | undefined) => void,
  source: RdbStream,
): Transform {
  let received = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      onProgress(received, source.expectedLength);
      callback(null, chunk);
    },
  });
}
