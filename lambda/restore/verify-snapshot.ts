import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RdbVerifier } from '../shared/rdb';

export interface VerifySnapshotOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** A particular version of the object (versioned bucket). @default the current version */
  readonly versionId?: string;
  /** Newest RDB format the target Redis can load. @default the verifier's MAX_RDB_VERSION (10) */
  readonly maxRdbVersion?: number;
  /** Accept a snapshot without a checksum (see RdbVerifierOptions). @default false */
  readonly allowMissingChecksum?: boolean;
  /** Aborting it stops the download (the Lambda deadline). */
  readonly signal?: AbortSignal;
}

/** A snapshot that was read completely and verified: what the restore will install. */
export interface VerifiedSnapshot {
  readonly bucket: string;
  readonly key: string;
  /** The version that was verified: the install must read exactly this one. */
  readonly versionId?: string;
  readonly bytes: number;
  readonly rdbVersion: number;
  readonly crc64: string;
  readonly checksum: 'verified' | 'disabled';
  /** Keys in Redis when the backup started (object metadata `keys`), if the object has it. */
  readonly expectedKeys?: number;
  /** The Redis version that wrote it (metadata `redis-version`). */
  readonly redisVersion?: string;
  readonly lastModified?: string;
}

/** The object is not a snapshot this project's Redis can load: restoring it must not start. */
export class SnapshotRefused extends Error {
  override name = 'SnapshotRefused';
}

/** No such object (or version) in the bucket. */
export class SnapshotNotFound extends Error {
  override name = 'SnapshotNotFound';
}

/**
 * Reads a snapshot from S3 end to end through the RDB verifier (magic, supported format version,
 * CRC64 trailer) without storing it anywhere: memory stays at the stream buffers whatever its size.
 * Reads its `keys` metadata, which the key-count check compares the restored Redis against.
 */
export async function verifySnapshot(options: VerifySnapshotOptions): Promise<VerifiedSnapshot> {
  const { s3, bucket, key } = options;
  const source = `s3://${bucket}/${key}${options.versionId ? ` (version ${options.versionId})` : ''}`;
  let object: GetObjectCommandOutput;
  try {
    object = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(options.versionId !== undefined && { VersionId: options.versionId }),
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound') {
      throw new SnapshotNotFound(`snapshot ${source} does not exist`, { cause: error });
    }
    // S3 answers a missing key with 403 unless it sees s3:ListBucket for the caller; the role may
    // list only its stage's snapshot folder. Ask that listing before calling a mistyped key
    // "Access Denied" at 3 a.m.
    if (name === 'AccessDenied' && options.versionId === undefined && (await keyIsAbsent(s3, bucket, key))) {
      throw new SnapshotNotFound(`snapshot ${source} does not exist`, { cause: error });
    }
    throw error;
  }
  const verifier = new RdbVerifier({
    ...(options.maxRdbVersion !== undefined && { maxVersion: options.maxRdbVersion }),
    allowMissingChecksum: options.allowMissingChecksum ?? false,
  });
  const discard = new Writable({
    highWaterMark: 1024 * 1024,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  try {
    await pipeline(
      object.Body as Readable,
      verifier,
      discard,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    if ((error as Error).name === 'RdbVerificationError') {
      throw new SnapshotRefused(`snapshot ${source} refused: ${(error as Error).message}`, { cause: error });
    }
    throw new Error(`reading snapshot ${source} failed: ${(error as Error).message}`, { cause: error });
  }
  const result = verifier.result;
  if (result === undefined)
    throw new SnapshotRefused(`snapshot ${source} refused: verification did not complete`);
  const metadata = object.Metadata ?? {};
  const keys = metadata.keys;
  return {
    bucket,
    key,
    ...(object.VersionId !== undefined && object.VersionId !== 'null' && { versionId: object.VersionId }),
    bytes: result.bytes,
    rdbVersion: result.rdbVersion,
    crc64: result.crc64,
    checksum: result.checksum,
    ...(keys !== undefined && /^\d+$/.test(keys) && { expectedKeys: Number(keys) }),
    ...(metadata['redis-version'] !== undefined && { redisVersion: metadata['redis-version'] }),
    ...(object.LastModified !== undefined && { lastModified: object.LastModified.toISOString() }),
  };
}

/** True when listing `key` as a prefix shows no such object; false when it exists or listing fails. */
async function keyIsAbsent(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    return !(listing.Contents ?? []).some((object) => object.Key === key);
  } catch {
    return false;
  }
}
