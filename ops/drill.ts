/**
 * npm run drill — the restore drill, locally, with no AWS:
 *
 *   start Redis with the production configuration (appendonly yes) -> fill it with a varied
 *   dataset -> back it up to a local S3-compatible server with the backup core (runBackup) ->
 *   destroy the data (FLUSHALL + stop: an appendonlydir the restore must replace; or delete the
 *   directory) -> restore with the install step (installSnapshot) -> start Redis again with the
 *   production configuration -> check the key count as the restore state machine does -> prove
 *   the dataset is identical (keys, types, values, TTLs, both databases).
 *
 * Prints each step's time, the total, and the recovery time (restore + Redis start until it
 * answers). Exits 1 if anything differs or fails. `runDrill` is what the test suite runs.
 *
 * Options: `npm run drill -- --help`.
 */
import { mkdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Command, CommanderError, Option } from 'commander';
import type Redis from 'ioredis';
import { runBackup } from '../lambda/backup';
import { checkRestoredKeys } from '../lambda/restore/check-keys';
import { installSnapshot } from '../lambda/restore/install-snapshot';
import { dumpDatabase, type KeyDump, populate, populateBulk } from '../test/lambda/helpers/dataset';
import { sayUsageError, wholeNumber } from './cli-kit';
import { PASSWORDS, RedisProcess } from './local/redis-process';
import { S3Server } from './local/s3-server';
import { makeTempDir, removeTempDir } from './local/temp-dir';

export type DestroyMode = 'flushall' | 'delete';

export interface DrillOptions {
  /**
   * How the data is destroyed: `flushall` (FLUSHALL, then stop: the directory keeps an
   * appendonlydir, of an empty dataset, that the restore must replace) or `delete` (the directory
   * is deleted and created again, empty).
   */
  readonly destroy: DestroyMode;
  /** Incompressible bulk data added to the varied dataset, in MB. @default 0 */
  readonly bulkMegabytes?: number;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
  /** Called on the restored Redis before the comparison (a test proves a difference is caught). */
  readonly tamper?: (redis: Redis) => Promise<void>;
}

export interface DrillStep {
  readonly name: string;
  readonly ms: number;
}

export interface DrillReport {
  readonly destroy: DestroyMode;
  readonly ok: boolean;
  readonly steps: readonly DrillStep[];
  readonly totalMs: number;
  /** Restore (download + verify + install) plus Redis's start on the restored data. */
  readonly recoveryMs: number;
  readonly keys: number;
  readonly snapshotBytes: number;
  /** Where the restore moved the data it found (flushall mode). */
  readonly previousData?: string;
  /** What differs between the dataset before the backup and after the restore; empty when ok. */
  readonly differences: readonly string[];
}

const RESTORE_STEP = 'restore with the install step';
const START_STEP = 'start Redis again (production configuration)';
const TTL_TOLERANCE_MS = 120_000;

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => {});
  const steps: DrillStep[] = [];
  const started = performance.now();
  async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const result = await work();
    const ms = performance.now() - t0;
    steps.push({ name, ms });
    log(`  ${(ms / 1000).toFixed(2).padStart(7)} s  ${name}`);
    return result;
  }

  const dataDir = makeTempDir('drill-data');
  const servers: RedisProcess[] = [];
  let s3: S3Server | undefined;
  try {
    const original = await step('start Redis (production configuration)', async () => {
      const redis = await RedisProcess.start({ dataDir, env: { REDIS_MAXMEMORY: '2gb' } });
      servers.push(redis);
      return redis;
    });
    const databases = [0, 1];
    const expected = await step('fill it with a varied dataset', async () => {
      await populate(original.client(), original.client('default', { db: 1 }));
      if (options.bulkMegabytes) await populateBulk(original.client(), options.bulkMegabytes);
      return Promise.all(databases.map((db) => dumpDatabase(original.client('default', { db }))));
    });
    s3 = await step('start the local S3 server', () => S3Server.start());
    const server = s3;
    const backup = await step('back up to the local S3 server (runBackup)', () =>
      runBackup({
        redis: { host: '127.0.0.1', port: original.port, username: 'backup', password: PASSWORDS.backup },
        s3: server.client,
        bucket: server.bucket,
        prefix: 'snapshots',
        stage: 'drill',
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      }),
    );
    await step(
      `destroy the data (${options.destroy === 'flushall' ? 'FLUSHALL + stop' : 'stop + delete the directory'})`,
      async () => {
        if (options.destroy === 'flushall') await original.client().flushall();
        await original.stop();
        if (options.destroy === 'delete') {
          removeTempDir(dataDir);
          mkdirSync(dataDir);
        }
      },
    );
    const installed = await step(RESTORE_STEP, async () => {
      const object = await server.client.send(
        new GetObjectCommand({ Bucket: server.bucket, Key: backup.key }),
      );
      return installSnapshot({
        dataDir,
        snapshot: object.Body as Readable,
        source: `s3://${server.bucket}/${backup.key}`,
      });
    });
    const restored = await step(START_STEP, async () => {
      const redis = await RedisProcess.start({ dataDir, env: { REDIS_MAXMEMORY: '2gb' } });
      servers.push(redis);
      await redis.client().ping();
      return redis;
    });
    const differences: string[] = [];
    await step('check the key count (as the restore state machine does)', async () => {
      try {
        await checkRestoredKeys(
          { host: '127.0.0.1', port: restored.port, username: 'monitor', password: PASSWORDS.monitor },
          backup.keys,
        );
      } catch (error) {
        differences.push(`key count: ${(error as Error).message}`);
      }
    });
    if (options.tamper) await options.tamper(restored.client());
    await step('compare every key, value and TTL', async () => {
      for (const db of databases) {
        const actual = await dumpDatabase(restored.client('default', { db }));
        differences.push(...compareDumps(actual, expected[db] as Map<string, KeyDump>, `db${db}`));
      }
      const appendonly = (await restored.client().config('GET', 'appendonly')) as string[];
      if (appendonly[1] !== 'yes')
        differences.push(`the restored Redis runs with appendonly ${appendonly[1]}`);
    });
    const totalMs = performance.now() - started;
    const recoveryMs = steps
      .filter((s) => s.name === RESTORE_STEP || s.name === START_STEP)
      .reduce((sum, s) => sum + s.ms, 0);
    return {
      destroy: options.destroy,
      ok: differences.length === 0,
      steps,
      totalMs,
      recoveryMs,
      keys: backup.keys,
      snapshotBytes: backup.bytes,
      ...(installed.heldData && { previousData: installed.previousData }),
      differences,
    };
  } finally {
    for (const redis of servers) await redis.cleanup();
    await s3?.cleanup();
    removeTempDir(dataDir);
  }
}

/** What differs between two dumps of one database: keys, types, values, TTLs (within a tolerance). */
export function compareDumps(
  actual: Map<string, KeyDump>,
  expected: Map<string, KeyDump>,
  label: string,
  ttlToleranceMs = TTL_TOLERANCE_MS,
): string[] {
  const differences: string[] = [];
  for (const key of expected.keys()) if (!actual.has(key)) differences.push(`${label}: ${key} is missing`);
  for (const key of actual.keys())
    if (!expected.has(key)) differences.push(`${label}: ${key} should not exist`);
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (got === undefined) continue;
    if (got.type !== want.type) differences.push(`${label}: ${key} is a ${got.type}, was a ${want.type}`);
    else if (JSON.stringify(got.value) !== JSON.stringify(want.value))
      differences.push(`${label}: ${key} has a different value`);
    if (want.pttl < 0 && got.pttl >= 0) differences.push(`${label}: ${key} gained a TTL (${got.pttl} ms)`);
    if (want.pttl >= 0 && got.pttl < 0) differences.push(`${label}: ${key} lost its TTL`);
    if (want.pttl >= 0 && got.pttl >= 0 && Math.abs(got.pttl - want.pttl) > ttlToleranceMs)
      differences.push(`${label}: ${key} TTL ${got.pttl} ms, was ${want.pttl} ms`);
  }
  return differences;
}

export function formatReport(report: DrillReport): string {
  const lines = [
    `  ${(report.totalMs / 1000).toFixed(2).padStart(7)} s  total`,
    `  ${(report.recoveryMs / 1000).toFixed(2).padStart(7)} s  recovery time (restore + Redis start until it answers)`,
    `  ${report.keys} keys, snapshot ${(report.snapshotBytes / 1024 / 1024).toFixed(1)} MiB${report.previousData ? `; the destroyed data's files went to ${report.previousData.replace(/^.*\//, '')}/` : ''}`,
  ];
  if (report.ok)
    lines.push('  PASS: the restored dataset is identical (keys, types, values, TTLs, db0 and db1)');
  else
    lines.push(
      `  FAIL: ${report.differences.length} difference(s)`,
      ...report.differences.map((d) => `    ${d}`),
    );
  return lines.join('\n');
}

/** `npm run drill -- [options]`: options and help by commander, like `ops`. */
function drillProgram(run: (modes: DestroyMode[], bulkMegabytes: number) => Promise<void>): Command {
  return new Command('npm run drill --')
    .description(
      'The restore drill, locally, with no AWS: Redis with the production configuration -> a varied dataset ->\n' +
        'backup to a local S3 server -> destroy the data -> restore -> Redis again -> the dataset must be identical.',
    )
    .usage('[--destroy flushall|delete] [--size-mb <n>]')
    .addOption(
      new Option(
        '--destroy <mode>',
        'how the data is destroyed (default: both, one after the other)',
      ).choices(['flushall', 'delete']),
    )
    .addOption(
      new Option('--size-mb <n>', 'incompressible bulk data on top of the varied dataset, in MB')
        .argParser(wholeNumber(0))
        .default(64),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ npm run drill',
        '  $ npm run drill -- --destroy delete --size-mb 512',
        '',
        "Needs redis-server 7 on PATH (npm test installs it). Prints each step's time and the recovery time.",
        '',
        'Exit codes:',
        '  0  the restored dataset is identical',
        '  1  a difference or a failure (printed)',
        '  2  wrong usage',
      ].join('\n'),
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (message) => sayUsageError('drill', message, 'npm run drill -- --help') })
    .action(async (options: { destroy?: DestroyMode; sizeMb: number }) => {
      await run(options.destroy === undefined ? ['flushall', 'delete'] : [options.destroy], options.sizeMb);
    });
}

export async function main(argv: readonly string[]): Promise<number> {
  // This machine runs Node 20: the SDK's notice about Node 22 is not the drill's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let failed = false;
  const program = drillProgram(async (modes, bulkMegabytes) => {
    for (const destroy of modes) {
      process.stdout.write(
        `drill: ${destroy === 'flushall' ? 'FLUSHALL + stop (an appendonlydir to replace)' : 'delete the data directory (restore into an empty one)'}, ${bulkMegabytes} MB bulk data\n`,
      );
      const report = await runDrill({
        destroy,
        bulkMegabytes,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`${formatReport(report)}\n\n`);
      failed ||= !report.ok;
    }
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`drill: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
