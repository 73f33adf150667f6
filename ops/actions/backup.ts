import { Transform } from 'node:stream';
import { runBackup } from '../../lambda/backup';
import { ALLOW_NO_CHECKSUM_FLAG } from '../../lambda/shared/rdb';
import { createS3Client } from '../../lambda/shared/s3-client';
import { DEFAULT_SNAPSHOT_PREFIX, snapshotKey } from '../../lambda/shared/snapshots';
import {
  endpointUrlOption,
  formatBytes,
  parseOptions,
  progress,
  progressDone,
  required,
  stderrLogger,
  UsageError,
} from '../cli-kit';
import { redisTargetFromUrl } from '../redis-url';

export const usage = `backup --redis-url <redis://backup@host:6379> --bucket <name> [--prefix <p>] [--stage <s>]
         [--endpoint-url <url>] [--kms-key-id <key>] [${ALLOW_NO_CHECKSUM_FLAG}]
    Streams a verified RDB snapshot of Redis (what \`redis-cli --rdb\` gets) to
    s3://<bucket>/<prefix>/<stage>/YYYY/MM/DD/<time>.rdb. The password comes from REDISCLI_AUTH.
    Defaults: --prefix ${DEFAULT_SNAPSHOT_PREFIX}, --stage manual. Prints one JSON line on stdout.
    ${ALLOW_NO_CHECKSUM_FLAG}: accept an RDB without a checksum (a Redis run with rdbchecksum no).
    Ctrl-C aborts the upload: nothing is left in the bucket.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    'redis-url': { type: 'string' },
    bucket: { type: 'string' },
    prefix: { type: 'string', default: DEFAULT_SNAPSHOT_PREFIX },
    stage: { type: 'string', default: 'manual' },
    'endpoint-url': { type: 'string' },
    'kms-key-id': { type: 'string' },
    'allow-no-checksum': { type: 'boolean', default: false },
  });
  const redis = redisTargetFromUrl(required(values, 'redis-url'));
  const bucket = required(values, 'bucket');
  const endpointUrl = endpointUrlOption(values);
  try {
    snapshotKey(values.prefix, values.stage, new Date());
  } catch (error) {
    throw new UsageError(`--stage: ${(error as Error).message}`);
  }
  // Ctrl-C (or a SIGTERM) aborts the backup through its usual failure path: the multipart upload
  // is aborted, so no incomplete upload stays behind in the bucket.
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => interrupted.abort(new Error(`interrupted (${signal})`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let transferred = 0;
  const result = await runBackup({
    signal: interrupted.signal,
    allowMissingChecksum: values['allow-no-checksum'],
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
  }).finally(() => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  });
  progressDone();
  const { key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs } = result;
  process.stdout.write(
    `${JSON.stringify({ bucket, key, bytes, crc64, rdbVersion, redisVersion, keys, checksum, durationMs })}\n`,
  );
  return 0;
}
