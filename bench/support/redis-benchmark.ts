/**
 * redis-benchmark, as bench:serve runs it: 50 persistent clients, 512-byte values, 100k random
 * keys, SET GET LPUSH RPOP; its CSV read into throughput and p99 per command.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
export const COMMANDS = ['SET', 'GET', 'LPUSH', 'RPOP'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Sample {
  readonly rps: number;
  readonly p99Ms: number;
}

/** One redis-benchmark run of every command at one pipeline depth; its CSV per command. */
export function benchmark(
  port: number,
  pipeline: number,
  extraArgs: readonly string[] = [],
): Map<Command, Sample> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-c',
    '50',
    '-n',
    String(REQUESTS),
    '-d',
    '512',
    ...extraArgs,
  ];
  args.push('-r', '100000', '-P', String(pipeline), '-t', COMMANDS.join(',').toLowerCase(), '--csv');
  const result = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0)
    throw new Error(`redis-benchmark failed (exit ${result.status}): ${result.stderr}`);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const samples = new Map<Command, Sample>();
  for (const line of result.stdout.trim().split('\n').slice(1)) {
    const [test, rps, , , , , p99] = line.split(',').map((field) => field.replace(/"/g, ''));
    const command = COMMANDS.find((name) => test === name || test?.startsWith(`${name} `));
    if (command) samples.set(command, { rps: Number(rps), p99Ms: Number(p99) });
  }
  for (const command of COMMANDS)
    if (!samples.has(command)) throw new Error(`no ${command} in:\n${result.stdout}`);
  return samples;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * CPU times (ms) of a process (redis-server, or this one for its reaped children): its own user and system time, and its waited-for children's (the
 * rewrite and save forks). proc(5): utime, stime, cutime, cstime are fields 14-17 (11-14 after
 * "(comm) "), in 1/100 s.
 */
export function cpuTimesMs(pid: number): { user: number; system: number; children: number } {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []).map(Number);
  const [user = 0, system = 0, childUser = 0, childSystem = 0] = fields.slice(11, 15);
  return { user: user * 10, system: system * 10, children: (childUser + childSystem) * 10 };
}

/** A header and rows as aligned columns on stdout. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of [header, ...rows])
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
}
