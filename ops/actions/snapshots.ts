import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { createS3Client } from '../../lambda/shared/s3-client';
import { DEFAULT_SNAPSHOT_PREFIX, listSnapshots } from '../../lambda/shared/snapshots';
import { readStackOutputs, requireOutput, stageStack } from '../aws/stage-stack';
import { endpointUrlOption, formatBytes, parseOptions, UsageError } from '../cli-kit';

export const usage = `snapshots --stage <stage> [--json]
    On AWS: lists the snapshots in the stage's backup bucket (found from its stack), newest first:
    key, time, size, keys. What restore --stage <stage> --snapshot <key> takes.
  snapshots --bucket <name> [--prefix <p>] [--stage <s>] [--endpoint-url <url>] [--json]
    Lists the snapshots in a bucket (of one stage with --stage), newest first.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    bucket: { type: 'string' },
    prefix: { type: 'string' },
    stage: { type: 'string' },
    'endpoint-url': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const endpointUrl = endpointUrlOption(values);
  let bucket = values.bucket;
  let stageFilter = values.stage;
  let region: string | undefined;
  if (bucket === undefined) {
    // The AWS form: the stage's bucket, every snapshot in it (scheduled and manual ones).
    if (values.stage === undefined) {
      throw new UsageError("--bucket is required (or --stage <stage>: the stage's backup bucket on AWS)");
    }
    if (endpointUrl !== undefined || values.prefix !== undefined) {
      throw new UsageError(
        '--endpoint-url and --prefix go with --bucket (the local form), not with --stage alone',
      );
    }
    const target = stageStack(values.stage);
    region = target.region;
    const cfn = new CloudFormationClient(region === undefined ? {} : { region });
    bucket = requireOutput(
      await readStackOutputs(cfn, target.stackName),
      'BackupBucketName',
      target.stackName,
    );
    stageFilter = undefined;
  }
  const prefix = values.prefix ?? DEFAULT_SNAPSHOT_PREFIX;
  const snapshots = await listSnapshots({
    s3: createS3Client({
      ...(endpointUrl !== undefined && { endpointUrl }),
      ...(region !== undefined && { region }),
    }),
    bucket,
    prefix,
    ...(stageFilter !== undefined && { stage: stageFilter }),
  });
  if (values.json) {
    for (const snapshot of snapshots) process.stdout.write(`${JSON.stringify(snapshot)}\n`);
    return 0;
  }
  if (snapshots.length === 0) {
    process.stderr.write(`no snapshots under s3://${bucket}/${prefix}\n`);
    return 0;
  }
  const rows = snapshots.map((s) => [
    s.key,
    s.time.toISOString(),
    formatBytes(s.size),
    s.keys === undefined ? '?' : String(s.keys),
  ]);
  const header = ['KEY', 'TIME (UTC)', 'SIZE', 'KEYS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  for (const row of [header, ...rows]) {
    const line = row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ');
    process.stdout.write(`${line.trimEnd()}\n`);
  }
  return 0;
}
