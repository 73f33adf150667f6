import { Transform } from 'node:stream';
import { DEFAULT_SNAPSHOT_PREFIX, runBackup } from '../../lambda/backup';
import { createS3Client } from '../../lambda/shared/s3-client';
import { formatBytes, parseOptions, progress, progressDone, required, stderrLogger } from '../cli-kit';
import { redisTargetFromUrl } from '../redis-url';

export const usage = `backup --redis-url <redis://backup@host:6379> --bucket <name> [--prefix <p>] [--stage <s>]
         [--endpoint-url <url>] [--kms-key-id <key>]
    Streams a verified RDB snapshot of Redis (what \`redis-cli --rdb\` gets) to
    s3://<bucket>/<prefix>/<stage>/YYYY/MM/DD/<time>.rdb. The password comes from REDISCLI_AUTH.
    Defaults: --prefix ${DEFAULT_SNAPSHOT_PREFIX}, --stage manual. Prints one JSON line on stdout.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    'redis-url': { type: 'string' },
    bucket: { type: 'string' },
    prefix: { type: 'string', default: DEFAULT_SNAPSHOT_PREFIX },
    stage: { type: 'string', default: 'manual' },
    'endpoint-url': { type: 'string' },
    'kms-key-id': { type: 'string' },
  });
  const redis = redisTargetFromUrl(required(values, 'redis-url'));
  const bucket = required(values, 'bucket');
  const endpointUrl = values['endpoint-url'];
  let transferred = 0;
  const result = await runBackup({
    redis,
    s3: createS3Client(endpointUrl === undefined ? {} : { endpointUrl }),
    bucket,
    prefix: values.prefix,
    stage: values.stage,
    ...(values['kms-key-id'] !== undefined && { kmsKeyId: values['kms-key-id'] }),
    logger: stderrLogger,
    interpose: () =>
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          transferred += chunk.length;
          progress(`backup: ${formatBytes(transferred)} received from Redis`);
          callback(null, chunk);
        },
      }),
  });
  progressDone();
  const { key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs } = result;
  process.stdout.write(
    `${JSON.stringify({ bucket, key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs })}\n`,
  );
  return 0;
}
