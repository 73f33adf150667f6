/**
 * The TLS part of npm run bench:serve: what TLS costs the clients. ONE redis-server with the
 * image's configuration in the transitional mode (the same binary, configuration and data on both
 * sides), measured through its plaintext port and through its TLS port (redis-benchmark --tls,
 * verifying the certificate with the CA), in alternating rounds: 50 persistent clients, pipeline 1,
 * SET GET LPUSH RPOP. Targets: TLS >= 0.7 of plaintext throughput, p99 <= 2x.
 */
import { join } from 'node:path';
import { freePort } from '../ops/local/ports';
import { RedisProcess } from '../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../ops/local/temp-dir';
import { makeCertificates } from '../test/support/tls';
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

const SIDES = ['tls', 'plaintext'] as const;
type Side = (typeof SIDES)[number];

/** Runs the comparison, prints the table; returns how many targets were missed. */
export async function compareTls(): Promise<number> {
  const dir = makeTempDir('bench-tls');
  const certs = makeCertificates(dir, 'bench');
  const tlsPort = await freePort();
  const redis = await RedisProcess.start({
    env: {
      REDIS_TLS: 'transitional',
      REDIS_TLS_PORT: String(tlsPort),
      REDIS_TLS_CERT: certs.pem.cert,
      REDIS_TLS_KEY: certs.pem.key,
      REDIS_TLS_CA: certs.pem.ca,
      REDIS_RUNTIME_DIR: join(dir, 'tls'),
    },
  });
  console.log(
    `bench:serve (TLS): ${ROUNDS} rounds x ${REQUESTS} requests per command, 50 persistent clients, P1`,
  );
  const samples = new Map<string, Sample[]>();
  const key = (side: Side, command: Command) => `${side}/${command}`;
  // CPU per side: redis-server's (its /proc times) and redis-benchmark's (this process's reaped
  // children): on 2 cores, TLS's crypto on BOTH ends is what bounds the ratio.
  const cpuMs: Record<Side, { server: number; client: number }> = {
    tls: { server: 0, client: 0 },
    plaintext: { server: 0, client: 0 },
  };
  try {
    // redis-benchmark reads no password from the environment (and none goes on a command line).
    await redis.client().acl('SETUSER', 'default', 'nopass');
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? SIDES : ([...SIDES].reverse() as Side[]);
      for (const side of order) {
        const before = { server: cpuTimesMs(redis.pid), client: cpuTimesMs(process.pid) };
        const run =
          side === 'tls' ? benchmark(tlsPort, 1, ['--tls', '--cacert', certs.ca]) : benchmark(redis.port, 1);
        const after = { server: cpuTimesMs(redis.pid), client: cpuTimesMs(process.pid) };
        cpuMs[side].server +=
          after.server.user + after.server.system - before.server.user - before.server.system;
        cpuMs[side].client += after.client.children - before.client.children;
        for (const [command, sample] of run) {
          samples.set(key(side, command), [...(samples.get(key(side, command)) ?? []), sample]);
        }
        console.log(`  round ${round}: ${side} done`);
      }
    }
  } finally {
    await redis.cleanup();
    removeTempDir(dir);
  }

  let misses = 0;
  const rows = COMMANDS.map((command) => {
    const rps = (side: Side) => median((samples.get(key(side, command)) ?? []).map((sample) => sample.rps));
    const p99 = (side: Side) => median((samples.get(key(side, command)) ?? []).map((sample) => sample.p99Ms));
    const ratio = rps('tls') / rps('plaintext');
    const p99Ratio = p99('tls') / p99('plaintext');
    const ok = ratio >= 0.7 && p99Ratio <= 2;
    if (!ok) misses++;
    return [
      command,
      rps('tls').toFixed(0),
      rps('plaintext').toFixed(0),
      `${ratio.toFixed(2)} (>= 0.7)`,
      p99('tls').toFixed(3),
      p99('plaintext').toFixed(3),
      `${p99Ratio.toFixed(2)} (<= 2)`,
      ok ? 'ok' : 'MISS',
    ];
  });
  const header = ['command', 'rps TLS', 'rps plain', 'ratio', 'p99 ms TLS', 'p99 ms plain', 'p99 ratio', ''];
  printTable(header, rows);
  const requests = ROUNDS * REQUESTS * COMMANDS.length;
  for (const side of SIDES) {
    const perRequest = (ms: number) => ((ms * 1000) / requests).toFixed(1);
    console.log(
      `CPU (${side}): redis-server ${perRequest(cpuMs[side].server)} us, redis-benchmark ${perRequest(cpuMs[side].client)} us per request`,
    );
  }
  return misses;
}
