/**
 * One backup in a process of its own (bundled by esbuild and run with plain node, as in Lambda),
 * so its peak RSS is the backup's alone. Config from the environment (the password in
 * REDISCLI_AUTH); prints the result and the process's peak RSS as one JSON line.
 */
import { runBackup } from '../../lambda/backup/backup';
import { createS3Client } from '../../lambda/shared/s3-client';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function main(): Promise<void> {
  const env = process.env;
  const result = await runBackup({
    redis: {
      host: '127.0.0.1',
      port: Number(env.BENCH_REDIS_PORT),
      username: 'backup',
      password: env.REDISCLI_AUTH as string,
    },
    s3: createS3Client({ endpointUrl: env.BENCH_S3_ENDPOINT as string, region: 'us-east-1' }),
    bucket: env.BENCH_BUCKET as string,
    prefix: 'bench',
    stage: 'bench',
    logger: silent,
    ...(env.BENCH_PART_MIB && { partSizeBytes: Number(env.BENCH_PART_MIB) * 1024 * 1024 }),
    ...(env.BENCH_QUEUE && { queueSize: Number(env.BENCH_QUEUE) }),
  });
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ bytes: result.bytes, key: result.key, peakRssBytes })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
