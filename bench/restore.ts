/**
 * npm run bench:restore — restoring a ~500 MB snapshot from the local S3-compatible server (s3rver,
 * own process), against its two unavoidable parts measured in the same run:
 *
 *   download   GetObject -> a file: the transfer alone (own process, bundled, plain node)
 *   load       redis-server (production config) starting on the installed snapshot until it answers
 *   restore    GetObject -> verifier -> installSnapshot (own process) + the same Redis start
 *
 * Prints the times of each round, restore / (download + load) (target <= 1.3) and the restoring
 * process's peak RSS (target: bounded, like the backup's ~200 MiB, whatever the snapshot size).
 * BENCH_SIZE_MB (default 500), BENCH_ROUNDS (default 3; the best time of each is compared).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runBackup } from '../lambda/backup';
import { createS3Client } from '../lambda/shared/s3-client';
import { PASSWORDS, RedisProcess } from '../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../ops/local/temp-dir';
import {
  BENCH_BUCKET,
  bundleRunner,
  check,
  MiB,
  populateBulk,
  type Run,
  S3_ENV,
  startS3rver,
  timed,
} from './support/harness';

const REDIS_ENV = { REDIS_MAXMEMORY: '3gb' };

/** A snapshot of about `megabytes` (incompressible 256 KiB strings) in the bucket; returns its key. */
async function makeSnapshot(megabytes: number, endpoint: string): Promise<{ key: string; bytes: number }> {
  const redis = await RedisProcess.start({ env: REDIS_ENV });
  try {
    await populateBulk(redis, megabytes);
    const result = await runBackup({
      redis: { host: '127.0.0.1', port: redis.port, username: 'backup', password: PASSWORDS.backup },
      s3: createS3Client({
        endpointUrl: endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      }),
      bucket: BENCH_BUCKET,
      prefix: 'snapshots',
      stage: 'bench',
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    return { key: result.key, bytes: result.bytes };
  } finally {
    await redis.cleanup();
  }
}

/** redis-server with the production config on `dataDir`, from spawn until it answers PING. */
async function startRedis(dataDir: string): Promise<number> {
  const started = performance.now();
  const redis = await RedisProcess.start({ dataDir, env: REDIS_ENV });
  await redis.client().ping();
  const ms = performance.now() - started;
  const keys = await redis.client().dbsize();
  // A kill, not a stop: a clean stop would write a 500 MB dump.rdb the measurement does not need.
  await redis.kill9();
  if (keys === 0) throw new Error('Redis started EMPTY on the restored directory');
  return ms;
}

/** The JSON line a measured process prints, once it exited 0. */
function resultOf(name: string, run: Run): { bytes: number; peakRssBytes: number } {
  return JSON.parse(check(name, run, run.code === 0).stdout.trim());
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const megabytes = Number(process.env.BENCH_SIZE_MB ?? 500);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const work = makeTempDir('bench-restore');
  const runner = await bundleRunner('restore-main.ts', work);
  const s3 = await startS3rver(join(work, 's3'));
  try {
    console.log(
      `bench:restore  ${megabytes} MB snapshot, S3: s3rver on loopback (own process), ${rounds} rounds\n`,
    );
    const snapshot = await makeSnapshot(megabytes, s3.endpoint);
    const env = {
      ...S3_ENV,
      BENCH_S3_ENDPOINT: s3.endpoint,
      BENCH_BUCKET: BENCH_BUCKET,
      BENCH_KEY: snapshot.key,
    };
    console.log(`snapshot: ${snapshot.key}, ${(snapshot.bytes / MiB).toFixed(0)} MiB\n`);
    console.log(
      'round  download s  load s  restore s (install + load)  restore/(download+load)  restore RSS MiB  download RSS MiB',
    );
    const rows: {
      download: number;
      load: number;
      install: number;
      start: number;
      rss: number;
      downloadRss: number;
    }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const file = join(work, 'download.rdb');
      const download = await timed('node', [runner], { ...env, BENCH_MODE: 'download', BENCH_FILE: file });
      const downloaded = resultOf('download', download);
      rmSync(file, { force: true });

      const dataDir = join(work, `data-${round}`);
      mkdirSync(dataDir);
      const install = await timed('node', [runner], {
        ...env,
        BENCH_MODE: 'restore',
        BENCH_DATA_DIR: dataDir,
      });
      const installed = resultOf('restore', install);
      const start = await startRedis(dataDir);
      // The load alone: the same Redis start on the same installed data, once more.
      const load = await startRedis(dataDir);
      removeTempDir(dataDir);

      const row = {
        download: download.ms,
        load,
        install: install.ms,
        start,
        rss: installed.peakRssBytes / MiB,
        downloadRss: downloaded.peakRssBytes / MiB,
      };
      rows.push(row);
      const total = row.install + row.start;
      console.log(
        [
          String(round).padEnd(5),
          seconds(row.download).padStart(10),
          seconds(row.load).padStart(7),
          `${seconds(total)} (${seconds(row.install)} + ${seconds(row.start)})`.padStart(27),
          (total / (row.download + row.load)).toFixed(2).padStart(24),
          row.rss.toFixed(0).padStart(16),
          row.downloadRss.toFixed(0).padStart(17),
        ].join(' '),
      );
    }
    const best = (pick: (row: (typeof rows)[number]) => number) => Math.min(...rows.map(pick));
    const bestDownload = best((row) => row.download);
    const bestLoad = best((row) => row.load);
    const bestRestore = best((row) => row.install + row.start);
    const peakRss = Math.max(...rows.map((row) => row.rss));
    console.log(
      `\nbest: download ${seconds(bestDownload)} s + load ${seconds(bestLoad)} s = ${seconds(bestDownload + bestLoad)} s; ` +
        `restore ${seconds(bestRestore)} s; ratio restore/(download+load) = ${(bestRestore / (bestDownload + bestLoad)).toFixed(2)} (target <= 1.30)`,
    );
    console.log(
      `peak RSS of the restoring process: ${peakRss.toFixed(0)} MiB (snapshot ${(snapshot.bytes / MiB).toFixed(0)} MiB)`,
    );
  } finally {
    s3.process.kill('SIGTERM');
    removeTempDir(work);
  }
}

main().catch((error: Error) => {
  console.error(`bench:restore: ${error.message}`);
  process.exitCode = 1;
});
