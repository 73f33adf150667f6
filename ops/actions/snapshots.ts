import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { createS3Client } from '../../lambda/shared/s3-client';
import { listSnapshots, type SnapshotInfo } from '../../lambda/shared/snapshots';
import { awsRegion, bucketRegion } from '../aws/aws-settings';
import { readStackOutputs, requireOutput, stageStack } from '../aws/stage-stack';
import { formatBytes, givenFlags, type Options, snapshotPrefix, terminal, UsageError } from '../cli-kit';
import { describeS3Error } from './s3-errors';

export async function run(options: Options): Promise<number> {
  const source = await snapshotSource(options);
  let snapshots: SnapshotInfo[];
  try {
    snapshots = await listSnapshots({
      s3: createS3Client({
        region: source.region,
        ...(source.endpointUrl !== undefined && { endpointUrl: source.endpointUrl }),
      }),
      bucket: source.bucket,
      prefix: source.prefix,
      ...(source.folder !== undefined && { stage: source.folder }),
    });
  } catch (error) {
    throw new Error(describeS3Error(error, { bucket: source.bucket }), { cause: error });
  }
  if (options.json === true) {
    for (const snapshot of snapshots) process.stdout.write(`${JSON.stringify(snapshot)}\n`);
    return 0;
  }
  if (snapshots.length === 0) {
    terminal.say(`no snapshots under s3://${source.bucket}/${source.prefix}/${source.folder ?? ''}`);
    return 0;
  }
  process.stdout.write(formatTable(snapshots));
  return 0;
}

export interface SnapshotSource {
  readonly bucket: string;
  readonly prefix: string;
  readonly folder?: string;
  readonly region: string;
  readonly endpointUrl?: string;
}

/**
 * Where the snapshots are: a stage's bucket on AWS (`--stage`: the bucket from its stack), or
 * `--bucket` (with `--endpoint-url` for an emulator). The two forms do not mix.
 */
export async function snapshotSource(options: Options): Promise<SnapshotSource> {
  const prefix = snapshotPrefix(options);
  const endpointUrl = options.endpointUrl as string | undefined;
  if (options.stage !== undefined) {
    const local = givenFlags(options, ['bucket', 'endpoint-url']);
    if (local.length > 0) {
      throw new UsageError(
        `--stage reads the stage's bucket on AWS; ${local.join(' and ')} name another one: give --stage or --bucket`,
      );
    }
    const target = stageStack(String(options.stage));
    const region = await awsRegion(options, target.region);
    const outputs = await readStackOutputs(new CloudFormationClient({ region }), target.stackName);
    const bucket = requireOutput(outputs, 'BackupBucketName', target.stackName);
    return {
      bucket,
      prefix,
      region,
      ...(options.folder !== undefined && { folder: String(options.folder) }),
    };
  }
  if (options.bucket === undefined) {
    throw new UsageError("missing --stage <stage> (a deployed stage's bucket) or --bucket <name>");
  }
  const region = await bucketRegion(options);
  return {
    bucket: String(options.bucket),
    prefix,
    region,
    ...(endpointUrl !== undefined && { endpointUrl }),
    ...(options.folder !== undefined && { folder: String(options.folder) }),
  };
}

function formatTable(snapshots: readonly SnapshotInfo[]): string {
  const rows = snapshots.map((s) => [
    s.key,
    s.time.toISOString(),
    formatBytes(s.size),
    s.keys === undefined ? '?' : String(s.keys),
  ]);
  const header = ['KEY', 'TIME (UTC)', 'SIZE', 'KEYS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  return [header, ...rows]
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i] as number))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}
