import { createInterface } from 'node:readline/promises';
import type Redis from 'ioredis';
import { describeTarget, type RedisTarget } from '../../lambda/shared/redis-connection';
import { formatBytes, type Options, requireOptions, terminal, UsageError } from '../cli-kit';
import { CopyError, openConnection } from '../copy/connection';
import { endpointFromUrl, FROM, TO } from '../copy/endpoint';
import {
  addStreamReport,
  copyKeys,
  DEFAULT_LIMITS,
  emptyStreamReport,
  printableKey,
  type StreamReport,
} from '../copy/keys';
import {
  dataKeyspace,
  describeKeyspace,
  HEALTH_CHECK,
  isHealthCheckKey,
  readServerFacts,
  type ServerFacts,
  type Survey,
  sameServer,
  surveyTypes,
  unsupportedTypesMessage,
} from '../copy/plan';
import { KeyProgress } from '../copy/progress';
import { compareDbSizes, compareKey, Reservoir } from '../copy/verify';

/** Up to this many keys, the verification compares every key; above, a uniform sample of this many. */
export const VERIFY_ALL_BELOW = 10_000;
/** Two TTLs read a moment apart on two servers count as equal within this (ms). */
export const TTL_TOLERANCE_MS = 2_000;
/** Differences listed when the verification fails. */
const LISTED_MISMATCHES = 10;
/** Keys compared at once during the verification. */
const COMPARE_CONCURRENCY = 32;

class Interrupted extends Error {
  override name = 'Interrupted';
}

interface DatabaseResult {
  readonly db: number;
  copied: number;
  skippedExpired: number;
  /** The source's health check counter (`ping` in db0): not copied, the target keeps its own. */
  healthCheck: boolean;
}

export async function run(options: Options): Promise<number> {
  requireOptions(options, { from: '<url>', to: '<url>' });
  if (options.db !== undefined && options.allDbs === true) {
    throw new UsageError('give --db <n> (one database) or --all-dbs (every database, the default), not both');
  }
  const warn = (line: string) => terminal.say(line);
  const source = endpointFromUrl(FROM, String(options.from), process.env, optional(options.caFileFrom), warn);
  const target = endpointFromUrl(TO, String(options.to), process.env, optional(options.caFileTo), warn);
  const yes = options.yes === true;
  if (!yes && process.stdin.isTTY !== true) {
    throw new UsageError(
      'copy-data asks before it writes, and stdin is not a terminal: add --yes to copy without asking',
    );
  }
  const onlyDb = options.db === undefined ? undefined : Number(options.db);

  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.on('SIGINT', onInterrupt);
  const checkInterrupted = () => {
    if (interrupted) throw new Interrupted('interrupted (Ctrl-C)');
  };
  const connections: Redis[] = [];
  let wrote = false;
  let copied = false;
  try {
    const [from, to] = await openBoth(source, target, connections);
    const [sourceFacts, targetFacts] = await Promise.all([
      readServerFacts(from, 'source'),
      readServerFacts(to, 'target'),
    ]);
    const refusal = await refuse(from, to, sourceFacts, targetFacts, onlyDb);
    if (refusal !== undefined) {
      terminal.say(`ops copy-data: ${refusal}`);
      return 1;
    }
    const databases =
      onlyDb === undefined ? [...sourceFacts.keyspace.keys()].sort((a, b) => a - b) : [onlyDb];
    await checkDatabases(from, to, databases);

    const checking = new KeyProgress(
      'copy-data: checking the types of the source keys',
      databases.reduce((keys, db) => keys + (sourceFacts.keyspace.get(db) ?? 0), 0),
    );
    let surveyed = 0;
    const survey = await surveyTypes(
      from,
      databases,
      DEFAULT_LIMITS,
      (_db, keys) => {
        checking.add(keys - surveyed);
        surveyed = keys;
      },
      checkInterrupted,
    );
    checking.finish();
    if (survey.unsupportedCount > 0) {
      terminal.say(`ops copy-data: ${unsupportedTypesMessage(survey)}`);
      return 1;
    }
    const header = `${sourceFacts.name} at ${describeTarget(source)} -> ${targetFacts.name} at ${describeTarget(target)}`;
    for (const line of planLines(header, survey, databases)) (yes ? terminal.note : terminal.say)(line);
    if (targetFacts.maxMemory > 0 && sourceFacts.usedMemory > targetFacts.maxMemory * 0.9) {
      terminal.say(
        `warning: the source uses ${formatBytes(sourceFacts.usedMemory)}, the target's maxmemory is ${formatBytes(targetFacts.maxMemory)}: the target may evict keys (the verification would then fail)`,
      );
    }
    if (!yes && !(await confirmed())) {
      terminal.say('copy-data: not confirmed; nothing was written');
      return 1;
    }

    // The copy, database by database.
    const started = performance.now();
    const results: DatabaseResult[] = [];
    const streams = emptyStreamReport();
    const sample = new Reservoir<{ db: number; key: Buffer }>(VERIFY_ALL_BELOW);
    for (const db of databases) {
      await Promise.all([from.select(db), to.select(db)]);
      const result: DatabaseResult = { db, copied: 0, skippedExpired: 0, healthCheck: false };
      results.push(result);
      const total = survey.databases.find((entry) => entry.db === db)?.keys;
      const progress = new KeyProgress(`copy-data: db${db}`, total);
      let cursor = '0';
      do {
        checkInterrupted();
        const [next, scanned] = await from.scanBuffer(cursor, 'COUNT', DEFAULT_LIMITS.scanCount);
        cursor = String(next);
        const keys = scanned.filter((key) => !isHealthCheckKey(db, key));
        if (keys.length < scanned.length) {
          result.healthCheck = true;
          progress.add(1);
        }
        if (keys.length === 0) continue;
        wrote = true;
        const batch = await copyKeys(from, to, keys, DEFAULT_LIMITS);
        result.copied += batch.copied.length;
        result.skippedExpired += batch.skippedExpired;
        addStreamReport(streams, batch.streams);
        for (const key of batch.copied) sample.add({ db, key });
        progress.add(batch.copied.length + batch.skippedExpired);
      } while (cursor !== '0');
      progress.finish();
    }
    const copySeconds = (performance.now() - started) / 1000;
    copied = true;

    // The verification.
    terminal.note('copy-data: verifying');
    const sizes = await compareDbSizes(from, to, databases, HEALTH_CHECK);
    const evicted = (await readServerFacts(to, 'target')).evictedKeys - targetFacts.evictedKeys;
    const total = sizes.reduce((keys, size) => keys + size.source, 0);
    const compareAll = total < VERIFY_ALL_BELOW;
    const keysToCompare = compareAll ? await allKeys(from, databases, checkInterrupted) : sample.items;
    const verifying = new KeyProgress('copy-data: comparing keys', keysToCompare.length);
    const mismatches = await compareKeys(from, to, keysToCompare, verifying, checkInterrupted);
    verifying.finish();

    process.stdout.write(`${summary(header, results, streams, copySeconds).join('\n')}\n`);
    const problems: string[] = [];
    const differentSizes = sizes.filter((size) => size.source !== size.target);
    for (const size of differentSizes) {
      problems.push(`db${size.db} DBSIZE ${size.source} on the source, ${size.target} on the target`);
    }
    if (evicted > 0) {
      problems.push(
        `the target evicted ${evicted} keys during the copy (maxmemory ${formatBytes(targetFacts.maxMemory)} is too small for the data)`,
      );
    }
    if (mismatches.length > 0) {
      problems.push(`${mismatches.length} of ${keysToCompare.length} compared keys differ`);
    }
    if (problems.length === 0) {
      const dbs = sizes.map((size) => `db${size.db} ${size.source}`).join(', ');
      process.stdout.write(
        `verified: DBSIZE equal (${dbs || 'no keys'}); ${keysToCompare.length} keys compared (${compareAll ? 'all' : 'a uniform sample'}): type, value, TTL within ${TTL_TOLERANCE_MS} ms\n`,
      );
      return 0;
    }
    terminal.say(`ops copy-data: NOT verified: ${problems.join('; ')}`);
    for (const { db, key, difference } of mismatches.slice(0, LISTED_MISMATCHES)) {
      terminal.say(`  db${db} ${printableKey(key)}: ${difference}`);
    }
    if (mismatches.length > LISTED_MISMATCHES)
      terminal.say(`  ... and ${mismatches.length - LISTED_MISMATCHES} more`);
    terminal.say(
      evicted > 0
        ? 'Give the target enough memory for the data (maxmemory), empty it (FLUSHALL) and run copy-data again.'
        : 'Is something still writing to the source? Stop the producers and the Celery workers, empty the target (FLUSHALL) and run copy-data again.',
    );
    return 1;
  } catch (error) {
    terminal.clearProgress();
    const partial = copied
      ? ' The copy was complete but is not verified.'
      : wrote
        ? ' The target holds a partial copy: empty it (FLUSHALL on the target) before running copy-data again.'
        : ' Nothing was written.';
    if (error instanceof Interrupted) {
      terminal.say(`copy-data: interrupted.${partial}`);
      return 130;
    }
    if (error instanceof UsageError) throw error;
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    terminal.say(`ops copy-data: ${message.replace(/\.$/, '')}.${partial}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    for (const connection of connections) connection.disconnect();
  }
}

function optional(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** Both connections, or a failure for the first side that could not connect (the other closed). */
async function openBoth(
  source: RedisTarget,
  target: RedisTarget,
  connections: Redis[],
): Promise<[Redis, Redis]> {
  const [from, to] = await Promise.allSettled([
    openConnection(source, 'source'),
    openConnection(target, 'target'),
  ]);
  if (from.status === 'fulfilled') connections.push(from.value);
  if (to.status === 'fulfilled') connections.push(to.value);
  if (from.status === 'rejected') throw from.reason;
  if (to.status === 'rejected') throw to.reason;
  return [from.value, to.value];
}

/** Why the copy must not start, if it must not: one server, a replica as target, data on the target. */
async function refuse(
  from: Redis,
  to: Redis,
  sourceFacts: ServerFacts,
  targetFacts: ServerFacts,
  onlyDb: number | undefined,
): Promise<string | undefined> {
  if (await sameServer(from, to, sourceFacts, targetFacts)) {
    return `--from and --to reach the same server (INFO server run_id ${sourceFacts.runId ?? '?'}): a copy onto itself would do nothing but harm; nothing was written`;
  }
  if (targetFacts.role !== 'master') {
    return `the target is a replica (role ${targetFacts.role}): copy into a primary; nothing was written`;
  }
  const occupied = describeKeyspace(
    await dataKeyspace(to, targetFacts),
    onlyDb === undefined ? undefined : [onlyDb],
  );
  if (occupied !== '') {
    return `the target is not empty (${occupied}): copy-data never writes over data, and nothing was written. If that data may go, empty the target by hand (FLUSHALL${onlyDb === undefined ? '' : `, or FLUSHDB in db${onlyDb}`}), then run copy-data again`;
  }
  return undefined;
}

/** Every database to copy exists on both servers (SELECT), before anything is written. */
async function checkDatabases(from: Redis, to: Redis, databases: readonly number[]): Promise<void> {
  for (const db of databases) {
    for (const [client, side] of [
      [from, 'source'],
      [to, 'target'],
    ] as const) {
      try {
        await client.select(db);
      } catch (error) {
        throw new CopyError(`the ${side} has no database ${db} (SELECT ${db}: ${(error as Error).message})`);
      }
    }
  }
}

function planLines(header: string, survey: Survey, databases: readonly number[]): string[] {
  if (databases.length === 0 || survey.databases.every((entry) => entry.keys === 0)) {
    return [
      `copy-data: ${header}: the source holds no keys${databases.length === 1 ? ` in db${databases[0]}` : ''}`,
    ];
  }
  return [
    `copy-data: ${header}`,
    ...survey.databases.map(
      (entry) =>
        `  db${entry.db}: ${entry.keys} keys (${[...entry.types]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([type, count]) => `${type} ${count}`)
          .join(', ')})`,
    ),
  ];
}

async function confirmed(): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // Ctrl-C (or the end of stdin) at the prompt is a no.
    const declined = new Promise<string>((resolve) => {
      prompt.once('SIGINT', () => resolve(''));
      prompt.once('close', () => resolve(''));
    });
    const answer = await Promise.race([
      prompt.question('Copy these keys into the target? Type yes to go on: '),
      declined,
    ]);
    return answer.trim() === 'yes';
  } finally {
    prompt.close();
  }
}

/** Every key of `databases` on the source (for a full comparison of a small dataset). */
async function allKeys(
  from: Redis,
  databases: readonly number[],
  checkInterrupted: () => void,
): Promise<{ db: number; key: Buffer }[]> {
  const keys: { db: number; key: Buffer }[] = [];
  for (const db of databases) {
    await from.select(db);
    let cursor = '0';
    do {
      checkInterrupted();
      const [next, batch] = await from.scanBuffer(cursor, 'COUNT', DEFAULT_LIMITS.scanCount);
      cursor = String(next);
      for (const key of batch) if (!isHealthCheckKey(db, key)) keys.push({ db, key });
    } while (cursor !== '0');
  }
  // SCAN may return a key twice.
  const seen = new Set<string>();
  return keys.filter(({ db, key }) => {
    const id = `${db}:${key.toString('latin1')}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

async function compareKeys(
  from: Redis,
  to: Redis,
  keys: readonly { db: number; key: Buffer }[],
  progress: KeyProgress,
  checkInterrupted: () => void,
): Promise<{ db: number; key: Buffer; difference: string }[]> {
  const mismatches: { db: number; key: Buffer; difference: string }[] = [];
  const byDb = new Map<number, Buffer[]>();
  for (const { db, key } of keys) byDb.set(db, [...(byDb.get(db) ?? []), key]);
  for (const [db, dbKeys] of [...byDb].sort(([a], [b]) => a - b)) {
    await Promise.all([from.select(db), to.select(db)]);
    for (let start = 0; start < dbKeys.length; start += COMPARE_CONCURRENCY) {
      checkInterrupted();
      const slice = dbKeys.slice(start, start + COMPARE_CONCURRENCY);
      const differences = await Promise.all(
        slice.map((key) =>
          compareKey(from, to, key, { ttlToleranceMs: TTL_TOLERANCE_MS, limits: DEFAULT_LIMITS }),
        ),
      );
      differences.forEach((difference, i) => {
        if (difference !== undefined) mismatches.push({ db, key: slice[i] as Buffer, difference });
      });
      progress.add(slice.length);
    }
  }
  return mismatches;
}

function summary(
  header: string,
  results: readonly DatabaseResult[],
  streams: StreamReport,
  seconds: number,
): string[] {
  const lines = [`copied ${header} in ${seconds.toFixed(1)} s`];
  for (const { db, copied, skippedExpired, healthCheck } of results) {
    lines.push(
      `  db${db}: ${copied} key${copied === 1 ? '' : 's'} copied${skippedExpired > 0 ? `, ${skippedExpired} skipped (expired during the copy)` : ''}${healthCheck ? `, not the health check's counter "${HEALTH_CHECK.key}" (the target keeps its own)` : ''}`,
    );
  }
  if (streams.streams > 0) {
    lines.push(
      `  streams: ${streams.streams}, with ${streams.groups} consumer groups and ${streams.consumers} consumers; ${streams.pendingRecreated} pending entries recreated (same consumer and delivery count; idle times as read)`,
    );
  }
  for (const { key, group, count } of streams.pendingLost) {
    lines.push(
      `  warning: stream ${printableKey(key)}, group ${JSON.stringify(group)}: ${count} pending entr${count === 1 ? 'y' : 'ies'} not recreated: the message is no longer in the stream (XDEL), so XCLAIM cannot make it pending again`,
    );
  }
  return lines;
}
