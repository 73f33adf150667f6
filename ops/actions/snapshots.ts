import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/shared/s3-client';
import { listSnapshots, type SnapshotInfo } from '../../lambda/shared/snapshots';
import { awsRegion, bucketRegion } from '../aws/aws-settings';
import {
  describeElastiCacheError,
  type ElastiCacheSnapshotInfo,
  listElastiCacheSnapshots,
} from '../aws/elasticache-snapshots';
import { deployedEngine } from '../aws/stage-engine';
import { readStackOutputs, requireOutput, type StageStack, stageStack } from '../aws/stage-stack';
import { formatBytes, givenFlags, type Options, snapshotPrefix, terminal, UsageError } from '../cli-kit';
import { describeS3Error } from './s3-errors';

/** `source` of a JSON line on an ElastiCache stage: ElastiCache's own snapshots, or the backup bucket's. */
export const SNAPSHOT_SOURCES = { elastiCache: 'elasticache', backupBucket: 'backup-bucket' } as const;

export async function run(options: Options): Promise<number> {
  const prefix = snapshotPrefix(options);
  const folder = options.folder === undefined ? undefined : String(options.folder);
  if (options.stage !== undefined) {
    const local = givenFlags(options, ['bucket', 'endpoint-url']);
    if (local.length > 0) {
      throw new UsageError(
        `--stage reads the stage's bucket on AWS; ${local.join(' and ')} name another one: give --stage or --bucket`,
      );
    }
    const target = stageStack(String(options.stage));
    const region = await awsRegion(options, target.region);
    return listStageSnapshots(
      {
        cfn: new CloudFormationClient({ region }),
        elastiCache: new ElastiCacheClient({ region }),
        s3: createS3Client({ region }),
        out: (text) => process.stdout.write(text),
        say: (line) => terminal.say(line),
      },
      { target, region, prefix, ...(folder !== undefined && { folder }), json: options.json === true },
    );
  }
  if (options.bucket === undefined) {
    throw new UsageError("missing --stage <stage> (a deployed stage's bucket) or --bucket <name>");
  }
  const endpointUrl = options.endpointUrl as string | undefined;
  const place: BucketPlace = {
    bucket: String(options.bucket),
    prefix,
    ...(folder !== undefined && { folder }),
  };
  const s3 = createS3Client({
    region: await bucketRegion(options),
    ...(endpointUrl !== undefined && { endpointUrl }),
  });
  printBucket(stdio, place, await listBucket(s3, place), options.json === true);
  return 0;
}

/** Where `ops snapshots` writes: stdout (`out`), and a line on stderr (`say`). */
export interface Output {
  readonly out: (text: string) => void;
  readonly say: (line: string) => void;
}

const stdio: Output = { out: (text) => process.stdout.write(text), say: (line) => terminal.say(line) };

export interface StageSnapshotsDeps extends Output {
  readonly cfn: CloudFormationClient;
  readonly elastiCache: ElastiCacheClient;
  /** The client of the stage's backup bucket. */
  readonly s3: S3Client;
}

export interface StageSnapshotsOptions {
  readonly target: StageStack;
  /** The region the clients call (for messages). */
  readonly region: string;
  readonly prefix: string;
  /** Only this folder of the backup bucket. @default every folder */
  readonly folder?: string;
  /** One JSON object per snapshot instead of the table. */
  readonly json: boolean;
}

/**
 * `snapshots --stage <stage>`: what the deployed stack says decides. A Fargate stage: its backup
 * bucket's snapshots. An ElastiCache stage (`Engine` = elasticache, a `ReplicationGroupId`): the
 * replication group's own snapshots (automatic and manual) AND the snapshots kept in its backup
 * bucket from its Fargate days, each marked with its source. Returns the exit code: 1 when either
 * could not be listed (what could be is still printed).
 */
export async function listStageSnapshots(
  deps: StageSnapshotsDeps,
  options: StageSnapshotsOptions,
): Promise<number> {
  const { target } = options;
  const outputs = await readStackOutputs(deps.cfn, target.stackName);
  const place: BucketPlace = {
    bucket: requireOutput(outputs, 'BackupBucketName', target.stackName),
    prefix: options.prefix,
    ...(options.folder !== undefined && { folder: options.folder }),
  };
  if (deployedEngine(outputs) === 'fargate') {
    printBucket(deps, place, await listBucket(deps.s3, place), options.json);
    return 0;
  }

  const group = requireOutput(outputs, 'ReplicationGroupId', target.stackName);
  const [cache, kept] = await Promise.allSettled([
    listElastiCacheSnapshots(deps.elastiCache, group),
    listBucket(deps.s3, place),
  ]);
  const failures: string[] = [];
  if (cache.status === 'rejected')
    failures.push(describeElastiCacheError(cache.reason, group, options.region));
  if (kept.status === 'rejected') failures.push((kept.reason as Error).message);

  if (options.json) {
    for (const snapshot of cache.status === 'fulfilled' ? cache.value : []) {
      deps.out(`${JSON.stringify({ source: SNAPSHOT_SOURCES.elastiCache, ...snapshot })}\n`);
    }
    for (const snapshot of kept.status === 'fulfilled' ? kept.value : []) {
      deps.out(
        `${JSON.stringify({ source: SNAPSHOT_SOURCES.backupBucket, bucket: place.bucket, ...snapshot })}\n`,
      );
    }
  } else {
    deps.out(
      [
        `ElastiCache snapshots of ${group} (automatic and manual; a restore creates a new group from one: docs/elasticache.md)`,
        ...(cache.status === 'fulfilled'
          ? cache.value.length > 0
            ? formatElastiCacheTable(cache.value)
            : ["  none yet: ElastiCache takes the first in the stage's daily snapshot window"]
          : ['  not listed (the reason on stderr)']),
        '',
        `Backup bucket snapshots in s3://${place.bucket}/${place.prefix}/${place.folder ?? ''} (kept from the stage's Fargate days, or copied there to go back: docs/elasticache.md, "Go back to Fargate")`,
        ...(kept.status === 'fulfilled'
          ? kept.value.length > 0
            ? formatBucketTable(kept.value)
            : ['  none']
          : ['  not listed (the reason on stderr)']),
        '',
      ].join('\n'),
    );
  }
  for (const failure of failures) deps.say(`ops snapshots: ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

interface BucketPlace {
  readonly bucket: string;
  readonly prefix: string;
  readonly folder?: string;
}

/** The snapshots of a bucket (one folder, or all), newest first; an S3 error as one line naming the bucket. */
async function listBucket(s3: S3Client, place: BucketPlace): Promise<SnapshotInfo[]> {
  try {
    return await listSnapshots({
      s3,
      bucket: place.bucket,
      prefix: place.prefix,
      ...(place.folder !== undefined && { stage: place.folder }),
    });
  } catch (error) {
    throw new Error(describeS3Error(error, { bucket: place.bucket }), { cause: error });
  }
}

/** One bucket's snapshots: the table, or JSON lines; "no snapshots" on stderr when there is none. */
function printBucket(
  output: Output,
  place: BucketPlace,
  snapshots: readonly SnapshotInfo[],
  json: boolean,
): void {
  if (json) {
    for (const snapshot of snapshots) output.out(`${JSON.stringify(snapshot)}\n`);
    return;
  }
  if (snapshots.length === 0) {
    output.say(`no snapshots under s3://${place.bucket}/${place.prefix}/${place.folder ?? ''}`);
    return;
  }
  output.out(
    formatBucketTable(snapshots)
      .map((line) => `${line}\n`)
      .join(''),
  );
}

function formatBucketTable(snapshots: readonly SnapshotInfo[]): string[] {
  return formatTable(
    ['KEY', 'TIME (UTC)', 'SIZE', 'KEYS'],
    snapshots.map((s) => [
      s.key,
      s.time.toISOString(),
      formatBytes(s.size),
      s.keys === undefined ? '?' : String(s.keys),
    ]),
  );
}

function formatElastiCacheTable(snapshots: readonly ElastiCacheSnapshotInfo[]): string[] {
  return formatTable(
    ['NAME', 'TIME (UTC)', 'STATUS', 'SIZE', 'KIND'],
    snapshots.map((s) => [s.name, s.time?.toISOString() ?? '-', s.status, s.cacheSize ?? '?', s.kind]),
  );
}

/** Aligned columns, one string per line (no trailing spaces). */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  return [header, ...rows].map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd(),
  );
}
