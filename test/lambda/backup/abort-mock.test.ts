import type { S3Client } from '@aws-sdk/client-s3';
import { type BackupDeps, BackupError, runBackup } from '../../../lambda/backup/backup';
import { RedisProcess } from '../../../ops/local/redis-process';
import { backupUser, flipByteAt, recorder, tap } from '../helpers/backup-deps';
import { populateBulk } from '../helpers/dataset';

const MiB = 1024 * 1024;

interface Call {
  readonly name: string;
  readonly input: Record<string, unknown>;
  readonly bytes?: number;
}

/**
 * A stand-in S3 client that records every command: s3rver answers AbortMultipartUpload with 405,
 * so only a mock shows that the abort is sent, with the right UploadId, and that neither
 * CompleteMultipartUpload nor PutObject ever is.
 */
class RecordingS3 {
  readonly calls: Call[] = [];
  failPart: number | undefined;
  /** This part's upload never answers (a hung connection). */
  hangPart: number | undefined;
  /** Called when CompleteMultipartUpload is sent (before it answers). */
  onComplete: (() => void) | undefined;
  /** How long CompleteMultipartUpload takes to answer (it always succeeds). */
  completeDelayMs = 100;
  /** How long each UploadPart takes to answer. */
  partDelayMs = 0;
  /** PutObjectTagging never answers (until the request's abortSignal fires). */
  hangTagging = false;
  readonly config = {
    requestChecksumCalculation: async () => 'WHEN_REQUIRED',
    requestHandler: undefined,
    forcePathStyle: true,
    endpoint: async () => ({ protocol: 'http:', hostname: 'mock', port: undefined, path: '/' }),
  };

  async send(
    command: { constructor: { name: string }; input: Record<string, unknown> },
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    const body = command.input.Body;
    this.calls.push({ name, input: command.input, ...(Buffer.isBuffer(body) && { bytes: body.length }) });
    await new Promise((resolve) => setImmediate(resolve));
    switch (name) {
      case 'CreateMultipartUpload':
        return { UploadId: 'upload-1' };
      case 'UploadPart':
        if (command.input.PartNumber === this.hangPart) await new Promise(() => {});
        if (this.partDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.partDelayMs));
        if (command.input.PartNumber === this.failPart) {
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
            name: 'InternalError',
          });
        }
        return { ETag: `"etag-${command.input.PartNumber}"` };
      case 'PutObjectTagging':
        if (this.hangTagging) {
          await new Promise((_, reject) =>
            options.abortSignal?.addEventListener('abort', () => reject(new Error('Request aborted'))),
          );
        }
        return {};
      case 'CompleteMultipartUpload':
        this.onComplete?.();
        await new Promise((resolve) => setTimeout(resolve, this.completeDelayMs));
        return { Bucket: command.input.Bucket, Key: command.input.Key, VersionId: 'v1' };
      default:
        return {};
    }
  }

  names(): string[] {
    return this.calls.map((call) => call.name);
  }

  destroy(): void {}
}

describe('runBackup abort path (mocked S3 client)', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    await populateBulk(redis.client(), 12);
  });
  afterAll(async () => redis.cleanup());

  function run(s3: RecordingS3, overrides: Partial<BackupDeps> = {}) {
    const { logger } = recorder();
    return runBackup({
      redis: backupUser(redis.port),
      s3: s3 as unknown as S3Client,
      bucket: 'bucket',
      prefix: 'redis-backups',
      stage: 'mock',
      logger,
      partSizeBytes: 5 * MiB,
      queueSize: 2,
      abortGraceMs: 2_000,
      ...overrides,
    });
  }

  it('a bad checksum found at the end aborts the multipart upload; it is never completed', async () => {
    const s3 = new RecordingS3();
    await expect(run(s3, { interpose: () => flipByteAt(11 * MiB) })).rejects.toThrow(/RDB checksum mismatch/);
    const names = s3.names();
    expect(names.filter((n) => n === 'UploadPart').length).toBeGreaterThanOrEqual(2);
    expect(names).toContain('AbortMultipartUpload');
    expect(names).not.toContain('CompleteMultipartUpload');
    expect(names).not.toContain('PutObject');
    expect(names).not.toContain('PutObjectTagging');
    for (const call of s3.calls.filter((c) => c.name === 'AbortMultipartUpload')) {
      expect(call.input).toEqual({
        Bucket: 'bucket',
        Key: expect.stringMatching(/\.rdb$/),
        UploadId: 'upload-1',
      });
    }
    // The last part (the one that would carry the bad trailer) was never sent: all parts are full.
    for (const part of s3.calls.filter((c) => c.name === 'UploadPart')) expect(part.bytes).toBe(5 * MiB);
  });

  it('a failing part upload aborts the multipart upload', async () => {
    const s3 = new RecordingS3();
    s3.failPart = 2;
    await expect(run(s3)).rejects.toThrow(/InternalError|internal error/);
    expect(s3.names()).toContain('AbortMultipartUpload');
    expect(s3.names()).not.toContain('CompleteMultipartUpload');
  });

  it('a hung part upload does not hold the failure up: the abort is forced after the grace period', async () => {
    const s3 = new RecordingS3();
    s3.hangPart = 1;
    const started = Date.now();
    await expect(run(s3, { abortGraceMs: 300, interpose: () => flipByteAt(11 * MiB) })).rejects.toThrow(
      /RDB checksum mismatch/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(s3.calls.filter((c) => c.name === 'AbortMultipartUpload')).toEqual([
      expect.objectContaining({ input: expect.objectContaining({ UploadId: 'upload-1' }) }),
    ]);
    expect(s3.names()).not.toContain('CompleteMultipartUpload');
  });

  it('an abort signal mid-stream aborts the multipart upload', async () => {
    const s3 = new RecordingS3();
    const controller = new AbortController();
    const error = await run(s3, {
      signal: controller.signal,
      interpose: () =>
        tap({
          onChunk: (offset) => {
            if (offset >= 7 * MiB) controller.abort(new Error('deadline'));
          },
        }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as Error).message).toMatch(/aborted: deadline/);
    expect(s3.names()).toContain('AbortMultipartUpload');
    expect(s3.names()).not.toContain('CompleteMultipartUpload');
  });

  it('a deadline that fires while a verified upload is completing keeps the (complete) snapshot', async () => {
    const s3 = new RecordingS3();
    const controller = new AbortController();
    s3.onComplete = () => controller.abort(new Error('deadline'));
    const result = await run(s3, { signal: controller.signal });
    expect(result.checksum).toBe('verified');
    expect(s3.names()).toContain('CompleteMultipartUpload');
    expect(s3.names()).not.toContain('AbortMultipartUpload');
  });

  it('a slow completion of a verified upload gets more time than a failing upload: still a success', async () => {
    const s3 = new RecordingS3();
    const controller = new AbortController();
    s3.onComplete = () => controller.abort(new Error('deadline'));
    s3.completeDelayMs = 1_500;
    const result = await run(s3, { signal: controller.signal, abortGraceMs: 300, completionGraceMs: 5_000 });
    expect(result.checksum).toBe('verified');
    expect(s3.names()).not.toContain('AbortMultipartUpload');
  });

  it('a deadline right after Redis sent the last byte, with parts still to upload: they go up and complete', async () => {
    const s3 = new RecordingS3();
    s3.partDelayMs = 300; // S3 is the bottleneck: the verified tail still waits in the stream buffers
    const controller = new AbortController();
    let callsBeforeDeadline = -1;
    const result = await run(s3, {
      signal: controller.signal,
      completionGraceMs: 10_000,
      // One part in flight, one assembled: when the RDB is verified, its tail still waits in the
      // stream buffers for S3. The deadline fires right then.
      queueSize: 1,
      onVerified: () => {
        callsBeforeDeadline = s3.calls.length;
        controller.abort(new Error('deadline'));
      },
    });
    expect(controller.signal.aborted).toBe(true);
    expect(result.checksum).toBe('verified');
    // The completion was sent after the deadline fired: the upload was allowed to finish.
    expect(s3.names().slice(callsBeforeDeadline)).toContain('CompleteMultipartUpload');
    expect(s3.names()).not.toContain('AbortMultipartUpload');
  });

  it('after the deadline, tagging a completed snapshot is bounded (3 s): the Lambda returns in time', async () => {
    const s3 = new RecordingS3();
    const controller = new AbortController();
    s3.onComplete = () => controller.abort(new Error('deadline'));
    s3.hangTagging = true;
    const started = Date.now();
    const result = await run(s3, { signal: controller.signal });
    expect(result).toMatchObject({ checksum: 'verified', tagged: false });
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('a completion that does not answer in time: aborted, and the message says the snapshot may exist', async () => {
    const s3 = new RecordingS3();
    const controller = new AbortController();
    s3.onComplete = () => controller.abort(new Error('deadline'));
    s3.completeDelayMs = 3_000;
    const error = await run(s3, { signal: controller.signal, completionGraceMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackupError);
    expect((error as Error).message).toMatch(
      /aborted: deadline, while the upload of the verified RDB was finishing \(S3 did not answer within 300 ms\).*exists and is a complete, verified snapshot/,
    );
    expect(s3.names()).toContain('AbortMultipartUpload');
  });

  it('a good backup completes the upload, with SSE-KMS when a key is given, metadata and tags', async () => {
    const s3 = new RecordingS3();
    const result = await run(s3, { kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' });
    expect(s3.names()[0]).toBe('CreateMultipartUpload');
    expect(s3.names().slice(-2)).toEqual(['CompleteMultipartUpload', 'PutObjectTagging']);
    expect(s3.names()).not.toContain('AbortMultipartUpload');
    const create = s3.calls[0]?.input ?? {};
    expect(create).toMatchObject({
      Bucket: 'bucket',
      Key: result.key,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd',
      ContentType: 'application/octet-stream',
      Metadata: {
        'redis-version': '7.0.15',
        'rdb-version': '10',
        keys: '48',
        stage: 'mock',
        framing: 'diskless',
      },
    });
    const parts = s3.calls.filter((c) => c.name === 'UploadPart');
    expect(parts.reduce((sum, c) => sum + (c.bytes ?? 0), 0)).toBe(result.bytes);
    // The completion is conditional: it never replaces a snapshot that already has this key.
    const complete = s3.calls.find((c) => c.name === 'CompleteMultipartUpload');
    expect(complete?.input).toMatchObject({ Key: result.key, IfNoneMatch: '*' });
    expect(result).toMatchObject({ versionId: 'v1', tagged: true, checksum: 'verified' });
  });

  it('without a KMS key, leaves encryption to the bucket default', async () => {
    const s3 = new RecordingS3();
    await run(s3);
    expect(s3.calls[0]?.input).not.toHaveProperty('ServerSideEncryption');
    expect(s3.calls[0]?.input).not.toHaveProperty('SSEKMSKeyId');
  });

  it('a small RDB goes up in one PutObject only once verified', async () => {
    const small = await RedisProcess.start();
    try {
      await small.client().set('k', 'v');
      const good = new RecordingS3();
      await run(good, { redis: backupUser(small.port) });
      expect(good.names()).toEqual(['PutObject', 'PutObjectTagging']);
      expect(good.calls[0]?.input).toMatchObject({ IfNoneMatch: '*' });
      const bad = new RecordingS3();
      await expect(
        run(bad, { redis: backupUser(small.port), interpose: () => flipByteAt(20) }),
      ).rejects.toThrow(/checksum mismatch/);
      expect(bad.names()).toEqual([]);
    } finally {
      await small.cleanup();
    }
  });
});
