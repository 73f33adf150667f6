/**
 * npm run bench:serve — what the image's persistence costs the clients: redis-benchmark against
 * the image's configuration (redis.conf through the entrypoint: AOF everysec, RDB save points,
 * 512mb allkeys-lru) and against the same binary with persistence off (CONFIG SET appendonly no,
 * save ""), in alternating rounds of one run.
 *
 * Workload: SET, GET, LPUSH, RPOP; 50 clients; 512-byte values; 100k random keys; pipeline 1 and 16.
 * Prints, per command and pipeline depth, the median throughput and p99 latency of each side and
 * their ratios. Targets: GET >= 0.9 and writes >= 0.8 of persistence-off throughput; p99 <= 2x.
 * BENCH_ROUNDS (default 3), BENCH_REQUESTS (default 100000 per command and round).
 *
 * It also prints, per side, the forks persistence made (AOF rewrites, RDB saves), the CPU time their
 * children used, and redis-server's own user and system time per request: on a 2-core machine
 * redis-benchmark takes one core and Redis the other, so a fork's CPU, and the copy-on-write page
 * faults it causes in Redis, come out of theirs. That is the bound this machine puts on the ratios.
 *
 * redis-benchmark reads no password from the environment, and one on its command line would show
 * in `ps`: each throwaway loopback server's default user is switched to nopass once it is up.
 */
import { spawnSync } from 'node:child_process';
import { parseInfo, RedisProcess, sleep } from '../ops/local/redis-process';
import { compareTls } from './serve-tls';
import {
  benchmark,
  COMMANDS,
  type Command,
  cpuTimesMs,
  median,
  printTable,
  REQUESTS,
  ROUNDS,
  type Sample,
} from './support/redis-benchmark';

const PIPELINES = [1, 16] as const;
/**
 * `no-rewrite` is a diagnostic third side: the image's configuration with automatic AOF rewrites
 * off (auto-aof-rewrite-percentage 0), to tell the cost of the rewrite forks from that of appending.
 */
const SIDES = ['persisted', 'no-rewrite', 'off'] as const;
type Side = (typeof SIDES)[number];

async function startServer(side: Side): Promise<RedisProcess> {
  const redis = await RedisProcess.start();
  const client = redis.client();
  if (side === 'off') {
    await client.config('SET', 'appendonly', 'no');
    await client.config('SET', 'save', '');
  }
  if (side === 'no-rewrite') await client.config('SET', 'auto-aof-rewrite-percentage', '0');
  await client.acl('SETUSER', 'default', 'nopass');
  return redis;
}

interface Forks {
  rewrites: number;
  saves: number;
  childCpuMs: number;
  serverUserMs: number;
  serverSystemMs: number;
  wallMs: number;
  /** The longest time Redis's main thread stood still in fork() (INFO stats latest_fork_usec). */
  longestForkMs: number;
}

function noForks(): Forks {
  return {
    rewrites: 0,
    saves: 0,
    childCpuMs: 0,
    serverUserMs: 0,
    serverSystemMs: 0,
    wallMs: 0,
    longestForkMs: 0,
  };
}

/**
 * BENCH_PART: `persistence` (the image against persistence off), `tls` (TLS against plaintext on
 * one server) or both (default).
 */
async function main(): Promise<void> {
  const part = process.env.BENCH_PART ?? 'all';
  if (!['all', 'persistence', 'tls'].includes(part)) {
    throw new Error(`BENCH_PART=${part}: allowed are persistence, tls, or unset for both`);
  }
  const persistenceMisses = part === 'tls' ? 0 : await comparePersistence();
  const tlsMisses = part === 'persistence' ? 0 : await compareTls();
  const misses = persistenceMisses + tlsMisses;
  console.log(misses === 0 ? 'bench:serve: every target met' : `bench:serve: ${misses} target(s) missed`);
}

/** The image's persistence against persistence off; returns how many targets were missed. */
async function comparePersistence(): Promise<number> {
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(
    `bench:serve: ${version}; ${ROUNDS} rounds x ${REQUESTS} requests per command, 50 clients, 512 B values`,
  );
  const samples = new Map<string, Sample[]>();
  const forks: Record<Side, Forks> = { persisted: noForks(), 'no-rewrite': noForks(), off: noForks() };
  const key = (side: Side, command: Command, pipeline: number) => `${side}/${command}/${pipeline}`;

  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order, so no side always runs on a warmer (or hotter) machine.
    const order = round % 2 ? SIDES : ([...SIDES].reverse() as Side[]);
    for (const side of order) {
      const redis = await startServer(side);
      const started = performance.now();
      try {
        for (const pipeline of PIPELINES) {
          for (const [command, sample] of benchmark(redis.port, pipeline)) {
            const list = samples.get(key(side, command, pipeline)) ?? [];
            list.push(sample);
            samples.set(key(side, command, pipeline), list);
          }
        }
        const client = redis.client();
        const persistence = parseInfo(await client.info('persistence'));
        forks[side].rewrites += Number(persistence.aof_rewrites ?? 0);
        forks[side].saves += Number(persistence.rdb_saves ?? 0);
        forks[side].wallMs += performance.now() - started;
        const stats = parseInfo(await client.info('stats'));
        forks[side].longestForkMs = Math.max(
          forks[side].longestForkMs,
          Number(stats.latest_fork_usec ?? 0) / 1000,
        );
        // Children are counted once reaped: wait for a fork still running before reading.
        for (let i = 0; i < 100 && /_in_progress:1/.test(await client.info('persistence')); i++) {
          await sleep(100);
        }
        const cpu = cpuTimesMs(redis.pid);
        forks[side].childCpuMs += cpu.children;
        forks[side].serverUserMs += cpu.user;
        forks[side].serverSystemMs += cpu.system;
      } finally {
        await redis.cleanup();
      }
      console.log(`  round ${round}: ${side} done`);
    }
  }

  const rows: string[][] = [];
  let misses = 0;
  for (const pipeline of PIPELINES) {
    for (const command of COMMANDS) {
      const of = (side: Side) => samples.get(key(side, command, pipeline)) ?? [];
      const rps = (side: Side) => median(of(side).map((sample) => sample.rps));
      const p99 = (side: Side) => median(of(side).map((sample) => sample.p99Ms));
      const throughputRatio = rps('persisted') / rps('off');
      const p99Ratio = p99('persisted') / p99('off');
      const target = command === 'GET' ? 0.9 : 0.8;
      const ok = throughputRatio >= target && p99Ratio <= 2;
      if (!ok) misses++;
      rows.push([
        command,
        `P${pipeline}`,
        rps('persisted').toFixed(0),
        rps('off').toFixed(0),
        `${throughputRatio.toFixed(2)} (>= ${target})`,
        p99('persisted').toFixed(3),
        p99('off').toFixed(3),
        `${p99Ratio.toFixed(2)} (<= 2)`,
        ok ? 'ok' : 'MISS',
        (rps('no-rewrite') / rps('off')).toFixed(2),
      ]);
    }
  }
  const header = [
    'command',
    'pipe',
    'rps image',
    'rps off',
    'ratio',
    'p99 ms image',
    'p99 ms off',
    'p99 ratio',
    '',
    'ratio w/o rewrites',
  ];
  printTable(header, rows);
  for (const side of SIDES) {
    const { rewrites, saves, childCpuMs, wallMs, longestForkMs, serverUserMs, serverSystemMs } = forks[side];
    const requests = ROUNDS * REQUESTS * COMMANDS.length * PIPELINES.length;
    console.log(
      `forks (${side}): ${rewrites} AOF rewrites, ${saves} RDB saves; their children used ` +
        `${(childCpuMs / 1000).toFixed(1)} s CPU in ${(wallMs / 1000).toFixed(1)} s of benchmark ` +
        `(${((100 * childCpuMs) / wallMs).toFixed(0)}% of one core); longest fork() ${longestForkMs.toFixed(1)} ms`,
    );
    // Copy-on-write page faults after each fork and the AOF's write(2)s are system time of Redis itself.
    console.log(
      `redis-server CPU (${side}): ${(serverUserMs / 1000).toFixed(1)} s user + ${(serverSystemMs / 1000).toFixed(1)} s system, ` +
        `${(((serverUserMs + serverSystemMs) * 1000) / requests).toFixed(1)} us per request`,
    );
  }
  return misses;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
