import { existsSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { installSnapshot } from '../../lambda/restore/install-snapshot';
import { redisProcessesUsing } from '../../lambda/restore/redis-presence';
import { RESTORE_LOCK_NAME, RESTORE_LOCK_STALE_MS } from '../../lambda/restore/restore-lock';
import { createS3Client } from '../../lambda/shared/s3-client';
import { awsRegion, bucketClient } from '../aws/aws-settings';
import { needsConfirmation, type RestoreIo, restoreOnAws } from '../aws/restore';
import { stageStack } from '../aws/stage-stack';
import {
  checkSnapshotChoice,
  formatBytes,
  givenFlags,
  type Options,
  placeFlags,
  requireOptions,
  snapshotPrefix,
  terminal,
  UsageError,
} from '../cli-kit';
import { TransferProgress } from '../progress';
import { newestSnapshotKey } from './newest-snapshot';
import { describeS3Error } from './s3-errors';

const LOCAL_FLAGS = ['bucket', 'data-dir', 'endpoint-url', 'folder', 'prefix', 'allow-no-checksum'];

export async function run(options: Options): Promise<number> {
  const noForm = options.stage === undefined && options.bucket === undefined && options.dataDir === undefined;
  checkSnapshotChoice(
    options,
    noForm
      ? '--stage <stage> (restore a stage on AWS) or --bucket <name> and --data-dir <dir> (a local data directory)'
      : undefined,
  );
  if (options.stage !== undefined) {
    const local = givenFlags(options, LOCAL_FLAGS);
    if (local.length > 0) {
      throw new UsageError(
        `--stage restores a stage on AWS; ${local.join(', ')} apply only to the local form (--bucket, --data-dir): use one form`,
      );
    }
    return runOnAws(options);
  }
  if (options.yes !== undefined) {
    throw new UsageError('--yes belongs to the AWS form (--stage <stage>): a local restore asks nothing');
  }
  if (options.bucket === undefined && options.dataDir === undefined) {
    throw new UsageError(
      'missing --stage <stage> (restore a stage on AWS), or --bucket <name> and --data-dir <dir> (restore a local data directory)',
    );
  }
  requireOptions(options, { bucket: '<name>', 'data-dir': '<dir>' });
  if (options.latest === true && options.folder === undefined) {
    throw new UsageError(
      `--latest needs --folder <name> locally: the folder to take the newest snapshot from (e.g. manual, dev); list them with: npm run -s ops -- snapshots ${placeFlags(options)}`,
    );
  }
  return runLocally(options);
}

async function runOnAws(options: Options): Promise<number> {
  const target = stageStack(String(options.stage));
  needsConfirmation(target.envName, options.yes === true, process.stdin.isTTY === true);
  const region = await awsRegion(options, target.region);
  const io: RestoreIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => terminal.say(line),
    interactive: process.stdin.isTTY === true,
    ask: async (question) => {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await prompt.question(question);
      } finally {
        prompt.close();
      }
    },
  };
  const onInterrupt = () => {
    terminal.say(
      'restore: stopped following; the restore goes on in AWS (aws stepfunctions describe-execution --execution-arn <the execution above>)',
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await restoreOnAws(
      {
        cfn: new CloudFormationClient({ region }),
        sfn: new SFNClient({ region }),
        s3: createS3Client({ region }),
        io,
      },
      {
        stage: String(options.stage),
        ...(options.snapshot !== undefined && { snapshot: String(options.snapshot) }),
        latest: options.latest === true,
        yes: options.yes === true,
      },
    );
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

async function runLocally(options: Options): Promise<number> {
  const bucket = String(options.bucket);
  const dataDir = String(options.dataDir);
  const prefix = snapshotPrefix(options);

  // Everything that can be checked before a download: the directory, its lock, a Redis on it, the
  // snapshot. A missing directory is made only then: a wrong key leaves nothing behind.
  const missing = await checkDataDirectory(dataDir);
  const s3 = await bucketClient(options);
  const key =
    options.snapshot !== undefined
      ? String(options.snapshot)
      : await newestSnapshotKey({
          s3,
          bucket,
          prefix,
          folder: String(options.folder),
          place: placeFlags(options),
          command: 'restore',
          listWhat: 'folders',
        });
  const source = `s3://${bucket}/${key}`;
  let head: { ContentLength?: number; Metadata?: Record<string, string> };
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw new Error(describeS3Error(error, { bucket, key, place: placeFlags(options) }), { cause: error });
  }
  if (missing) {
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (error) {
      throw new Error(
        `--data-dir ${dataDir} does not exist and cannot be created: ${(error as Error).message}`,
      );
    }
    terminal.say(`restore: created the data directory ${dataDir}`);
  }

  terminal.say(`restore: downloading and verifying ${source} (${formatBytes(head.ContentLength ?? 0)})`);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
    throw new Error(describeS3Error(error, { bucket, key }), { cause: error });
  });
  const body = object.Body as Readable;
  const download = new TransferProgress(
    'restore: download and verify',
    head.ContentLength === undefined ? undefined : { bytes: head.ContentLength },
  );
  // Ctrl-C during the download ends it through the install's failure path (the partial file is
  // removed, the lock released); after it, the install's few renames finish first.
  let installing = false;
  const onInterrupt = () => {
    if (installing) {
      terminal.say('restore: installing the verified snapshot takes a moment; it finishes first');
      return;
    }
    body.destroy(new Error('interrupted (SIGINT)'));
  };
  process.on('SIGINT', onInterrupt);
  const counted = body.pipe(download.counter());
  body.on('error', (error) => counted.destroy(error)); // pipe() alone would leave the install waiting
  let result: Awaited<ReturnType<typeof installSnapshot>>;
  try {
    result = await installSnapshot({
      dataDir,
      snapshot: counted,
      source,
      allowMissingChecksum: options.allowNoChecksum === true,
      onVerified: (verification) => {
        installing = true;
        terminal.say(
          `restore: downloaded ${download.finish()}; verified: RDB format ${verification.rdbVersion}, CRC64 ${verification.crc64} ${verification.checksum}`,
        );
        terminal.say(`restore: installing into ${dataDir}`);
      },
    });
  } catch (error) {
    terminal.clearProgress();
    if (!installing && /interrupted \(SIGINT\)/.test(String((error as Error).message))) {
      terminal.say(`restore: interrupted; ${dataDir} was left unchanged`);
      return 130;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  const keys = head.Metadata?.keys;
  process.stdout.write(
    [
      `restored ${source}`,
      `  bytes:         ${result.bytes} (${formatBytes(result.bytes)}), RDB format ${result.rdbVersion}, CRC64 ${result.crc64} ${result.checksum}`,
      `  keys expected: ${keys ?? 'unknown (no keys metadata on the object)'}`,
      `  installed as:  ${result.installedAs}`,
      `  old data:      ${result.previousData}${result.heldData ? '' : ' (empty: the directory held no Redis data)'}`,
      ...result.warnings.map((warning) => `  warning:       ${warning}`),
      '',
    ].join('\n'),
  );
  return 0;
}

/**
 * A directory to restore into: refused while a restore or a Redis uses it (Linux: Redis is found
 * through /proc). Returns true when it does not exist yet (it is made once the snapshot is found).
 */
async function checkDataDirectory(dataDir: string): Promise<boolean> {
  if (!existsSync(dataDir)) return true;
  if (!statSync(dataDir).isDirectory()) {
    throw new UsageError(
      `--data-dir ${dataDir} is a file: give a Redis data directory (one that holds appendonlydir/)`,
    );
  }
  const lock = join(dataDir, RESTORE_LOCK_NAME);
  const lockAge = await stat(lock).then(
    (info) => Date.now() - info.mtimeMs,
    () => undefined,
  );
  if (lockAge !== undefined && lockAge < RESTORE_LOCK_STALE_MS) {
    throw new Error(
      `another restore holds ${lock} (touched ${Math.round(lockAge / 1000)} s ago): wait for it to finish; a lock untouched for ${RESTORE_LOCK_STALE_MS / 1000} s is taken over`,
    );
  }
  const running = redisProcessesUsing(dataDir);
  if (running.length > 0) {
    throw new Error(
      `redis-server (pid ${running.join(', ')}) is running on ${dataDir}: stop it first (its next save would overwrite the restore)`,
    );
  }
  return false;
}
