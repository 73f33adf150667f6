import { DEFAULT_SNAPSHOT_PREFIX, listSnapshots } from '../../lambda/backup';
import { createS3Client } from '../../lambda/shared/s3-client';
import { formatBytes, parseOptions, required } from '../cli-kit';

export const usage = `snapshots --bucket <name> [--prefix <p>] [--stage <s>] [--endpoint-url <url>] [--json]
    Lists the snapshots in the bucket, newest first: key, time, size, keys.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    bucket: { type: 'string' },
    prefix: { type: 'string', default: DEFAULT_SNAPSHOT_PREFIX },
    stage: { type: 'string' },
    'endpoint-url': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const endpointUrl = values['endpoint-url'];
  const snapshots = await listSnapshots({
    s3: createS3Client(endpointUrl === undefined ? {} : { endpointUrl }),
    bucket: required(values, 'bucket'),
    prefix: values.prefix,
    ...(values.stage !== undefined && { stage: values.stage }),
  });
  if (values.json) {
    for (const snapshot of snapshots) process.stdout.write(`${JSON.stringify(snapshot)}\n`);
    return 0;
  }
  if (snapshots.length === 0) {
    process.stderr.write(`no snapshots under s3://${values.bucket}/${values.prefix}\n`);
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
