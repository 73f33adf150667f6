/**
 * What the benchmarks share: timing a command in its own process, an s3rver in its own process
 * (so neither its CPU nor its memory is counted as the measured code's), and filling Redis.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type LocalServer, startNodeServer, startS3rverProcess } from '../../ops/local/node-server';
import type { RedisProcess } from '../../ops/local/redis-process';

export type { LocalServer };

export const BENCH_BUCKET = 'bench';
export const MiB = 1024 * 1024;

/** Credentials and region s3rver accepts (and no SDK notice about this machine's Node 20). */
export const S3_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
} as const;

export interface Run {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs a command to its end and measures its wall time. */
export function timed(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, stdout, stderr, code }));
  });
}

/** Throws with the command's output unless `ok`. */
export function check(name: string, run: Run, ok: boolean): Run {
  if (!ok) throw new Error(`${name} failed (exit ${run.code}): ${run.stderr || run.stdout}`);
  return run;
}

/** s3rver with the bench bucket, storing under `directory`, in a process of its own. */
export function startS3rver(directory: string): Promise<LocalServer> {
  return startS3rverProcess(directory, BENCH_BUCKET);
}

/** An S3 endpoint that reads and drops every byte (bench/support/discard-s3-main.ts). */
export function startDiscardS3(): Promise<LocalServer> {
  return startNodeServer(join(__dirname, 'discard-s3-main.ts'), []);
}

/** Linux's USER_HZ: /proc reports CPU time in ticks of 1/100 s. */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) a process used so far, including its children that exited and were
 * waited for: for redis-server, the fork that produced the RDB.
 */
export function cpuMsOf(pid: number): number {
  // proc(5): fields 14-17 of /proc/<pid>/stat are utime, stime, cutime, cstime (11-14 after "(comm) ").
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Fills Redis with `megabytes` of incompressible 256 KiB strings (an RDB of about that size). */
export async function populateBulk(redis: RedisProcess, megabytes: number): Promise<void> {
  const client = redis.client();
  const count = Math.ceil((megabytes * MiB) / (256 * 1024));
  for (let start = 0; start < count; start += 64) {
    const pipeline = client.pipeline();
    for (let i = start; i < Math.min(count, start + 64); i++)
      pipeline.set(`bulk:${i}`, randomBytes(256 * 1024));
    await pipeline.exec();
  }
}

/**
 * Bundles `support/<entry>` into `<dir>/<name>.js` with esbuild, as the Lambda functions are
 * bundled, so the measured process runs plain `node` (no tsx in its time or memory).
 */
export async function bundleRunner(entry: string, dir: string): Promise<string> {
  const outfile = join(dir, entry.replace(/\.ts$/, '.js'));
  await build({
    entryPoints: [join(__dirname, entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
