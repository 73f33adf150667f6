import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { runBackup } from '../../lambda/backup';
import { listSnapshots, snapshotKey } from '../../lambda/shared/snapshots';
import { awsRegion, bucketClient } from '../aws/aws-settings';
import { refuseBackupStage } from '../aws/stage-engine';
import { stageStack } from '../aws/stage-stack';
import { type Options, requireOptions, snapshotPrefix, terminal, UsageError } from '../cli-kit';
import { TransferProgress } from '../progress';
import { redisTargetFromUrl } from '../redis-url';
import { describeS3Error } from './s3-errors';

export async function run(options: Options): Promise<number> {
  // Not a form of backup: it says what to do instead (an ElastiCache stage: its own snapshots),
  // before anything touches Redis or S3.
  if (options.stage !== undefined) {
    const target = stageStack(String(options.stage));
    const region = await awsRegion(options, target.region);
    return refuseBackupStage(new CloudFormationClient({ region }), target);
  }
  requireOptions(options, { 'redis-url': '<url>', bucket: '<name>' });
  const redis = redisTargetFromUrl(
    String(options.redisUrl),
    process.env,
    options.caFile === undefined ? undefined : String(options.caFile),
  );
  const bucket = String(options.bucket);
  const prefix = snapshotPrefix(options);
  const folder = String(options.folder);
  try {
    snapshotKey(prefix, folder, new Date());
  } catch (error) {
    throw new UsageError(`--folder ${(error as Error).message.replace(/^invalid stage /, '')}`);
  }
  const s3 = await bucketClient(options);

  // Before Redis is asked for the dump (a fork and a whole RDB streamed): credentials and bucket.
  await checkBucket(s3, bucket);

  // Ctrl-C (or a SIGTERM) aborts the backup through its usual failure path: the multipart upload
  // is aborted, so no incomplete upload stays behind in the bucket.
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    terminal.clearProgress();
    interrupted.abort(
      new Error(`interrupted (${signal}); the upload was aborted, nothing is left in the bucket`),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Redis streams a diskless dump without announcing its size: the folder's previous snapshot is
  // a fair estimate for the ETA (marked ~).
  const previous = await previousSnapshotSize(s3, bucket, prefix, folder);
  const progress = new TransferProgress(
    'backup: from Redis to S3',
    previous === undefined ? undefined : { bytes: previous, estimated: true },
  );
  let progressed = 0;
  try {
    const result = await runBackup({
      signal: interrupted.signal,
      allowMissingChecksum: options.allowNoChecksum === true,
      redis,
      s3,
      bucket,
      prefix,
      stage: folder,
      ...(options.kmsKeyId !== undefined && { kmsKeyId: String(options.kmsKeyId) }),
      logger: quietLogger,
      onProgress: (received, announced) => {
        if (announced !== undefined) progress.setTotal({ bytes: announced });
        progress.add(received - progressed);
        progressed = received;
      },
    });
    terminal.note(
      `backup: ${progress.finish()}, verified (CRC64 ${result.crc64}): s3://${bucket}/${result.key}`,
    );
    const { key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs } = result;
    process.stdout.write(
      `${JSON.stringify({ bucket, key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs })}\n`,
    );
    return 0;
  } catch (error) {
    terminal.clearProgress();
    if (interrupted.signal.aborted) {
      terminal.say(`ops backup: ${(interrupted.signal.reason as Error).message}`);
      return 130;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
/** The backup core's logger: its warnings matter, its steps are the progress line's job. */
const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: (message: string, ...attributes: Record<string, unknown>[]) =>
    terminal.say(`warning: ${message} ${attributes.map((a) => JSON.stringify(a)).join(' ')}`.trimEnd()),
  error: () => {},
};

/** The size of the newest snapshot in the folder, if there is one (and it can be listed). */
async function previousSnapshotSize(
  s3: S3Client,
  bucket: string,
  prefix: string,
  folder: string,
): Promise<number | undefined> {
  if (!terminal.isTTY()) return undefined; // only the progress line uses it
  const [newest] = await listSnapshots({
    s3,
    bucket,
    prefix,
    stage: folder,
    limit: 1,
    withMetadata: false,
  }).catch(() => []);
  return newest?.size;
}

/** HeadBucket: are there credentials, does the bucket exist, may they use it? */
async function checkBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    throw new Error(describeS3Error(error, { bucket }), { cause: error });
  }
}
