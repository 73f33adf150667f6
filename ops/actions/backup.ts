import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { runBackup } from '../../lambda/backup';
import { listSnapshots, snapshotKey } from '../../lambda/shared/snapshots';
import { awsRegion, bucketClient } from '../aws/aws-settings';
import { elastiCacheStageRefusal, refuseBackupStage } from '../aws/stage-engine';
import { stageStack } from '../aws/stage-stack';
import {
  NO_CREDENTIALS,
  type Options,
  requireOptions,
  snapshotPrefix,
  terminal,
  UsageError,
} from '../cli-kit';
import { TransferProgress } from '../progress';
import { redisTargetFromUrl } from '../redis-url';
import { describeS3Error } from './s3-errors';

export async function run(options: Options): Promise<number> {
  // Not a form of backup: it says what to do instead (an ElastiCache stage: its own snapshots),
  // before anything touches Redis or S3.
  if (options.stage !== undefined) return refuseStage(options);
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
/**
 * `backup --stage <stage>`: never a backup. Decided offline: the stage is known (else a usage error
 * listing them) and this is a usage error. Only which one needs the deployed stack (its engine
 * and backup function), read with CloudFormation: an ElastiCache stage is refused (exit 1), a
 * Fargate stage gets the usage hint naming its function (exit 2). When the stack cannot be read
 * (no region, no credentials, no network, not deployed), still the usage hint (exit 2), after one
 * line that says why the engine could not be checked.
 */
async function refuseStage(options: Options): Promise<never> {
  const target = stageStack(String(options.stage));
  let reason: string;
  try {
    const region = await awsRegion(options, target.region);
    return await refuseBackupStage(new CloudFormationClient({ region }), target);
  } catch (error) {
    // The stack was read: its own answer.
    if (
      (error instanceof UsageError && !/^no AWS region\b/.test(error.message)) ||
      (error as Error).message === elastiCacheStageRefusal(target.envName)
    ) {
      throw error;
    }
    reason = unreadStackReason(error);
  }
  terminal.say(
    `ops backup: the engine of stage ${target.envName} could not be checked (${reason}): if it runs on ElastiCache, its backups are ElastiCache's automatic snapshots (npm run -s ops -- snapshots --stage ${target.envName})`,
  );
  throw new UsageError(
    `--stage is not a form of backup (--folder names the snapshot folder; backup takes --redis-url and --bucket): on Fargate, stage ${target.envName}'s scheduled backup is its backup function (the output BackupFunctionName of stack ${target.stackName}; aws lambda invoke --function-name <it> /dev/stdout), see docs/runbook/backups.md`,
  );
}

/** Why the stage's stack could not be read, in a few words. */
function unreadStackReason(error: unknown): string {
  const e = error as Error & { code?: string };
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/.test(e.message ?? '')) {
    return NO_CREDENTIALS;
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return `CloudFormation cannot be reached: ${e.message}`;
  }
  return (e.message ?? String(error)).split('\n')[0] ?? String(error);
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
