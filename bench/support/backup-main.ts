/**
 * One backup in a process of its own (bundled by esbuild and run with plain node, as in Lambda),
 * so its peak RSS and CPU time are the backup's alone. Config from the environment (the password in
 * REDISCLI_AUTH); prints the result, the process's peak RSS, its CPU time and the S3 server's time to complete
 * the upload as one JSON line.
 */
import { runBackup } from '../../lambda/backup/backup';
import { createS3Client } from '../../lambda/shared/s3-client';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function main(): Promise<void> {
  const env = process.env;
  const s3 = createS3Client({ endpointUrl: env.BENCH_S3_ENDPOINT as string, region: 'us-east-1' });
  // How long the S3 server takes to complete the upload: s3rver copies every part into the
  // object then (real S3 does not), a serial tail no client can overlap with the transfer.
  let completeMs = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const output = await next(args);
      if (context.commandName === 'CompleteMultipartUploadCommand') completeMs = performance.now() - started;
      return output;
    },
    { step: 'finalizeRequest', name: 'benchCompleteTimer' },
  );
  const result = await runBackup({
    redis: {
      host: '127.0.0.1',
      port: Number(env.BENCH_REDIS_PORT),
      username: 'backup',
      password: env.REDISCLI_AUTH as string,
    },
    s3,
    bucket: env.BENCH_BUCKET as string,
    prefix: 'bench',
    stage: 'bench',
    logger: silent,
    ...(env.BENCH_PART_MIB && { partSizeBytes: Number(env.BENCH_PART_MIB) * 1024 * 1024 }),
    ...(env.BENCH_QUEUE && { queueSize: Number(env.BENCH_QUEUE) }),
  });
  const usage = process.resourceUsage();
  const peakRssBytes = usage.maxRSS * 1024;
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  process.stdout.write(
    `${JSON.stringify({ bytes: result.bytes, key: result.key, peakRssBytes, cpuMs, completeMs })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
