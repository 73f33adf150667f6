/**
 * npm run bench:ops-start — how fast `ops` answers, the way a person types it (`ops help`), against
 * two peers measured in the same run, rounds alternating:
 *
 *   node       `node -e 0`: the floor, what starting node costs on this machine
 *   tsx        `node --import tsx ops/cli.ts help`: ops as it ran before (TypeScript loaded at start)
 *   ops        `node ops/launch.cjs ops/cli.ts help`: the prebuilt bundle (npm run ops)
 *
 * Prints each one's median wall time and ops / tsx. Target: ops help under 0.3 s.
 * BENCH_ROUNDS (default 15).
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../ops/local/redis-process';

const SIDES: Record<string, string[]> = {
  node: ['-e', '0'],
  tsx: ['--import', 'tsx', 'ops/cli.ts', 'help'],
  ops: ['ops/launch.cjs', 'ops/cli.ts', 'help'],
};

function timeOnce(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
// One warm-up each: the bundle is (re)built and tsx's cache filled outside the measurement.
for (const args of Object.values(SIDES)) timeOnce(args);
const times: Record<string, number[]> = { node: [], tsx: [], ops: [] };
for (let round = 0; round < rounds; round++) {
  for (const [side, args] of Object.entries(SIDES)) times[side]?.push(timeOnce(args));
}
const medians = Object.fromEntries(Object.entries(times).map(([side, values]) => [side, median(values)]));
for (const [side, ms] of Object.entries(medians)) {
  process.stdout.write(`${side.padEnd(5)} ${(ms / 1000).toFixed(3)} s (median of ${rounds})\n`);
}
const ops = medians.ops as number;
process.stdout.write(
  `ops help / tsx: ${(ops / (medians.tsx as number)).toFixed(2)}; ops help ${(ops / 1000).toFixed(3)} s: ${ops < 300 ? 'under' : 'OVER'} the 0.3 s target\n`,
);
