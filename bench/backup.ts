/**
 * npm run bench:backup — this project's streaming backup against its peers, in one run, against
 * the same local redis-server and the same local S3-compatible server (s3rver, own process):
 *
 *   ours      runBackup: replication stream -> verifier -> multipart upload (bundled, plain node)
 *   two-step  `redis-cli --rdb file && aws s3 cp file s3://...` (the spec's backup recipe)
 *   transfer  `redis-cli --rdb /dev/null`: the replication transfer alone, the lower bound
 *   pipeline  ours again, into an S3 endpoint that drops the bytes: the project's own overhead
 *             over the transfer, without the S3 server's cost (s3rver writes every part to disk
 *             and copies them all again on CompleteMultipartUpload)
 *
 * Prints wall-time ratios and our peak RSS for each dataset size (BENCH_SIZES_MB, default
 * "300,1024"). Targets: ours/two-step <= 0.75, ours/transfer <= 1.5, peak RSS <= 256 MiB and
 * not growing with the dataset.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PASSWORDS, RedisProcess } from '../test/support/redis-process';
import { makeTempDir, removeTempDir } from '../test/support/temp-dir';
import {
  BENCH_BUCKET,
  bundleRunner,
  check,
  MiB,
  populateBulk,
  S3_ENV,
  startDiscardS3,
  startS3rver,
  timed,
} from './support/harness';

/** Debian's awscli (the peer); any `aws` on PATH otherwise. */
const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

async function benchSize(
  megabytes: number,
  work: string,
  endpoint: string,
  discardEndpoint: string,
  runner: string,
) {
  const redis = await RedisProcess.start({ env: { REDIS_MAXMEMORY: `${megabytes * 3}mb` } });
  try {
    await populateBulk(redis, megabytes);
    const auth = { REDISCLI_AUTH: PASSWORDS.backup };
    const rdbArgs = ['-p', String(redis.port), '--user', 'backup', '--rdb'];

    // redis-cli exits 1 after --rdb /dev/null (fsync on /dev/null fails) though the transfer succeeded.
    const transfer = await timed('redis-cli', [...rdbArgs, '/dev/null'], auth);
    check('redis-cli --rdb /dev/null', transfer, /Transfer finished with success/.test(transfer.stderr));

    const file = join(work, `peer-${megabytes}.rdb`);
    const dump = await timed('redis-cli', [...rdbArgs, file], auth);
    check('redis-cli --rdb file', dump, dump.code === 0);
    const copy = await timed(
      AWS_CLI,
      [
        's3',
        'cp',
        file,
        `s3://${BENCH_BUCKET}/peer/${megabytes}.rdb`,
        '--endpoint-url',
        endpoint,
        '--only-show-errors',
      ],
      S3_ENV,
    );
    check('aws s3 cp', copy, copy.code === 0);
    removeTempDir(file);

    const backupTo = (s3Endpoint: string) =>
      timed('node', [runner], {
        ...auth,
        BENCH_REDIS_PORT: String(redis.port),
        BENCH_S3_ENDPOINT: s3Endpoint,
        BENCH_BUCKET,
        ...S3_ENV,
      });
    const ours = await backupTo(endpoint);
    check('runBackup', ours, ours.code === 0);
    // The same backup into an endpoint that drops the bytes: the pipeline's own cost.
    const pipeline = await backupTo(discardEndpoint);
    check('runBackup (discard S3)', pipeline, pipeline.code === 0);
    const result = JSON.parse(ours.stdout.trim()) as { bytes: number; peakRssBytes: number };
    return {
      megabytes,
      rdbMiB: result.bytes / MiB,
      transferMs: transfer.ms,
      twoStepMs: dump.ms + copy.ms,
      oursMs: ours.ms,
      pipelineMs: pipeline.ms,
      peakRssMiB: result.peakRssBytes / MiB,
    };
  } finally {
    await redis.cleanup();
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES_MB ?? '300,1024').split(',').map(Number);
  const work = makeTempDir('bench-backup');
  const runner = await bundleRunner('backup-main.ts', work);
  const s3 = await startS3rver(join(work, 's3'));
  const discard = await startDiscardS3();
  try {
    console.log(
      `bench:backup  peer: ${AWS_CLI} s3 cp; S3: s3rver on loopback; sizes: ${sizes.join(', ')} MB\n`,
    );
    const rows = [];
    for (const size of sizes) rows.push(await benchSize(size, work, s3.endpoint, discard.endpoint, runner));
    console.log(
      'size     RDB MiB  transfer s  two-step s  ours s  ours/two-step  ours/transfer  pipeline/transfer  peak RSS MiB',
    );
    for (const row of rows) {
      console.log(
        [
          `${row.megabytes} MB`.padEnd(8),
          row.rdbMiB.toFixed(0).padStart(7),
          (row.transferMs / 1000).toFixed(2).padStart(10),
          (row.twoStepMs / 1000).toFixed(2).padStart(10),
          (row.oursMs / 1000).toFixed(2).padStart(7),
          (row.oursMs / row.twoStepMs).toFixed(2).padStart(14),
          (row.oursMs / row.transferMs).toFixed(2).padStart(14),
          (row.pipelineMs / row.transferMs).toFixed(2).padStart(18),
          row.peakRssMiB.toFixed(0).padStart(13),
        ].join(' '),
      );
    }
    console.log(
      [
        '',
        'ours: this backup into s3rver; pipeline: the same backup into an S3 endpoint that drops the bytes',
        "(the project's own cost: replication stream, CRC64, multipart), both against the transfer alone.",
        'targets: ours/two-step <= 0.75, ours/transfer <= 1.5, peak RSS <= 256 MiB, flat across sizes',
      ].join('\n'),
    );
  } finally {
    s3.process.kill('SIGTERM');
    discard.process.kill('SIGTERM');
    removeTempDir(work);
  }
}

main().catch((error: Error) => {
  console.error(`bench:backup: ${error.message}`);
  process.exitCode = 1;
});
