import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_SNAPSHOT_PREFIX, listSnapshots } from '../../lambda/backup';
import { installSnapshot } from '../../lambda/restore/install-snapshot';
import { createS3Client } from '../../lambda/shared/s3-client';
import { formatBytes, parseOptions, required, UsageError } from '../cli-kit';

export const usage = `restore --bucket <name> (--key <key> | --latest) [--prefix <p>] [--stage <s>] --data-dir <dir>
         [--endpoint-url <url>]
    Installs a snapshot into a Redis data directory (Redis must not be running on it) so that Redis,
    started with appendonly yes, loads exactly that snapshot. Verifies it completely first; the old
    data moves to <dir>/pre-restore-<time>/. --latest takes the newest snapshot (of --stage, if given).`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    bucket: { type: 'string' },
    key: { type: 'string' },
    latest: { type: 'boolean', default: false },
    prefix: { type: 'string', default: DEFAULT_SNAPSHOT_PREFIX },
    stage: { type: 'string' },
    'data-dir': { type: 'string' },
    'endpoint-url': { type: 'string' },
  });
  const bucket = required(values, 'bucket');
  const dataDir = required(values, 'data-dir');
  if ((values.key === undefined) === !values.latest) {
    throw new UsageError('give exactly one of --key <key> or --latest');
  }
  const endpointUrl = values['endpoint-url'];
  const s3 = createS3Client(endpointUrl === undefined ? {} : { endpointUrl });

  let key = values.key;
  if (key === undefined) {
    const [newest] = await listSnapshots({
      s3,
      bucket,
      prefix: values.prefix,
      limit: 1,
      withMetadata: false,
      ...(values.stage !== undefined && { stage: values.stage }),
    });
    if (newest === undefined) {
      process.stderr.write(`restore: no snapshot found under s3://${bucket}/${values.prefix}\n`);
      return 1;
    }
    key = newest.key;
  }
  const source = `s3://${bucket}/${key}`;
  process.stderr.write(`restore: downloading and verifying ${source}\n`);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const result = await installSnapshot({ dataDir, snapshot: object.Body as Readable, source });
  const keys = object.Metadata?.keys;
  process.stdout.write(
    [
      `restored ${source}`,
      `  bytes:         ${result.bytes} (${formatBytes(result.bytes)}), RDB format ${result.rdbVersion}, CRC64 ${result.crc64} ${result.checksum}`,
      `  keys expected: ${keys ?? 'unknown (no keys metadata on the object)'}`,
      `  installed as:  ${result.installedAs}`,
      `  old data:      ${result.previousData ?? 'none (the directory held no Redis data)'}`,
      ...result.warnings.map((warning) => `  warning:       ${warning}`),
      '',
    ].join('\n'),
  );
  return 0;
}
