import { createInterface } from 'node:readline/promises';
import type Redis from 'ioredis';
import { describeTarget, type RedisTarget } from '../../lambda/shared/redis-connection';
import { formatBytes, type Options, requireOptions, terminal, UsageError } from '../cli-kit';
import { CopyError, explainFailure, openConnection } from '../copy/connection';
import { endpointFromUrl, FROM, TO } from '../copy/endpoint';
import {
  addStreamReport,
  copyKeys,
  DEFAULT_LIMITS,
  emptyStreamReport,
  execAll,
  printableKey,
  type StreamReport,
} from '../copy/keys';
import {
  dataKeyspace,
  describeKeyspace,
  describePing,
  HEALTH_CHECK,
  isHealthCheckKey,
  type PingKind,
  pingKind,
  readServerFacts,
  type ServerFacts,
  type Survey,
  sameServer,
  surveyTypes,
  unsupportedTypesMessage,
} from '../copy/plan';
import { KeyProgress } from '../copy/progress';
import { compareDbSizes, compareKey, Reservoir } from '../copy/verify';

/** Up to this many keys, the verification compares every key; above, every collection and a uniform sample of this many strings. */
export const VERIFY_ALL_BELOW = 10_000;
/** Two TTLs read a moment apart on two servers count as equal within this (ms). */
export const TTL_TOLERANCE_MS = 2_000;
/** Differences listed when the verification fails. */
const LISTED_MISMATCHES = 10;
/** Keys compared at once during the verification. */
const COMPARE_CONCURRENCY = 32;
/** Keys found on the target already (as on the source) kept to compare again in the verification. */
const KEPT_REPEATS = VERIFY_ALL_BELOW;

class Interrupted extends Error {
  override name = 'Interrupted';
}

interface DatabaseResult {
  readonly db: number;
  copied: number;
  skippedExpired: number;
  /** Keys on the target already, as on the source: SCAN returned them a second time. */
  repeated: number;
  /** Keys not copied: the target held a key of that name already, different (something wrote it). */
  conflicts: number;
  /** The source's health check counter (an integer `ping` in db0): not copied, the target keeps its own. */
  healthCheck: boolean;
}

interface DbKey {
  readonly db: number;
  readonly key: Buffer;
}

interface Difference extends DbKey {
  readonly difference: string;
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

  let wrote = false;
  let copied = false;
  const partial = () =>
    copied
      ? ' The copy was complete but is not verified.'
      : wrote
        ? ' The target holds a partial copy: empty it (FLUSHALL on the target) before running copy-data again.'
        : ' Nothing was written.';
  // The first Ctrl-C stops at the next chunk (between two reads, even inside a large key); a second
  // one exits at once (a temporary key left behind expires on its own within a day).
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      terminal.note('copy-data: stopping (Ctrl-C again to exit at once)');
      return;
    }
    terminal.say(`copy-data: interrupted again: exited at once.${partial()}`);
    process.exit(130);
  };
  process.on('SIGINT', onInterrupt);
  const checkInterrupted = () => {
    if (interrupts > 0) throw new Interrupted('interrupted (Ctrl-C)');
  };
  const connections: Redis[] = [];
  try {
    const [from, to] = await openBoth(source, target, connections);
    const [sourceFacts, targetFacts] = await Promise.all([
      readServerFacts(from, 'source'),
      readServerFacts(to, 'target'),
    ]);
    const databases =
      onlyDb === undefined ? [...sourceFacts.keyspace.keys()].sort((a, b) => a - b) : [onlyDb];
    const sourcePing = await sourcePingKind(from, sourceFacts, databases);
    const refusal = await refuse(from, to, sourceFacts, targetFacts, onlyDb, sourcePing);
    if (refusal !== undefined) {
      terminal.say(`ops copy-data: ${refusal}`);
      return 1;
    }
    await checkDatabases(from, to, databases);
    /** The source's `ping` in db0 is the health check's counter: not copied, not compared. */
    const skipPing = sourcePing === 'counter';

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
    if (typeof sourcePing === 'object') {
      terminal.say(
        `warning: db${HEALTH_CHECK.db} ${printableKey(HEALTH_CHECK.key)} on the source is ${describePing(sourcePing)}, not the health check's counter: it is copied as data, and the target's container health check (INCR ${HEALTH_CHECK.key.toString()}) fails on it`,
      );
    }
    if (targetFacts.maxMemory > 0 && sourceFacts.usedMemory > targetFacts.maxMemory * 0.9) {
      terminal.say(
        `warning: the source uses ${formatBytes(sourceFacts.usedMemory)}, the target's maxmemory is ${formatBytes(targetFacts.maxMemory)}: the target may evict keys (the verification would then fail)`,
      );
    }
    if (!yes && !(await confirmed())) {
      terminal.say('copy-data: not confirmed; nothing was written');
      return 1;
    }
    checkInterrupted();
    // The target again, right before the first write: the survey and the question took a while,
    // and a producer or a worker already pointed at the target may have written to it since.
    const lateRefusal = await refuse(
      from,
      to,
      sourceFacts,
      await readServerFacts(to, 'target'),
      onlyDb,
      sourcePing,
      true,
    );
    if (lateRefusal !== undefined) {
      terminal.say(`ops copy-data: ${lateRefusal}`);
      return 1;
    }

    // The copy, database by database.
    const started = performance.now();
    const results: DatabaseResult[] = [];
    const streams = emptyStreamReport();
    const repeatedKeys: DbKey[] = [];
    const conflicts: Difference[] = [];
    for (const db of databases) {
      await Promise.all([from.select(db), to.select(db)]);
      const result: DatabaseResult = {
        db,
        copied: 0,
        skippedExpired: 0,
        repeated: 0,
        conflicts: 0,
        healthCheck: false,
      };
      results.push(result);
      const total = survey.databases.find((entry) => entry.db === db)?.keys;
      const progress = new KeyProgress(`copy-data: db${db}`, total);
      let cursor = '0';
      do {
        checkInterrupted();
        const [next, scanned] = await from.scanBuffer(cursor, 'COUNT', DEFAULT_LIMITS.scanCount);
        cursor = String(next);
        const keys = skipPing ? scanned.filter((key) => !isHealthCheckKey(db, key)) : scanned;
        if (keys.length < scanned.length) {
          result.healthCheck = true;
          progress.add(1);
        }
        if (keys.length === 0) continue;
        wrote = true;
        const batch = await copyKeys(from, to, keys, DEFAULT_LIMITS, checkInterrupted);
        result.copied += batch.copied.length;
        result.skippedExpired += batch.skippedExpired;
        addStreamReport(streams, batch.streams);
        // A key the target held already: as on the source when SCAN returned it twice (it was
        // copied), else something else wrote it there, and the source's key was not copied.
        for (const key of batch.existing) {
          checkInterrupted();
          const difference = await compareKey(from, to, key, {
            ttlToleranceMs: TTL_TOLERANCE_MS,
            limits: DEFAULT_LIMITS,
          });
          if (difference === undefined) {
            result.repeated++;
            if (repeatedKeys.length < KEPT_REPEATS) repeatedKeys.push({ db, key });
          } else {
            result.conflicts++;
            conflicts.push({ db, key, difference: `not copied, the target held it already: ${difference}` });
          }
        }
        progress.add(batch.copied.length + batch.skippedExpired + batch.existing.length);
      } while (cursor !== '0');
      progress.finish();
    }
    const copySeconds = (performance.now() - started) / 1000;
    copied = true;

    // The verification.
    terminal.note('copy-data: verifying');
    const ignored = async (client: Redis, db: number) =>
      db === HEALTH_CHECK.db && (await pingKind(client)) === 'counter' ? 1 : 0;
    const sizes = await compareDbSizes(from, to, databases, ignored);
    const evicted = (await readServerFacts(to, 'target')).evictedKeys - targetFacts.evictedKeys;
    const total = sizes.reduce((keys, size) => keys + size.source, 0);
    const compareAll = total < VERIFY_ALL_BELOW;
    const verifying = new KeyProgress('copy-data: comparing keys', compareAll ? total : undefined);
    const verification = await verify(from, to, databases, {
      compareAllStrings: compareAll,
      skipPing,
      repeated: repeatedKeys,
      progress: verifying,
      checkInterrupted,
    });
    verifying.finish();
    // A key not copied (listed as such) differs, of course: not listed twice.
    const conflicting = new Set(conflicts.map(({ db, key }) => `${db}:${key.toString('latin1')}`));
    const mismatches = verification.mismatches.filter(
      ({ db, key }) => !conflicting.has(`${db}:${key.toString('latin1')}`),
    );

    process.stdout.write(`${summary(header, results, streams, copySeconds).join('\n')}\n`);
    const problems: string[] = [];
    if (conflicts.length > 0) {
      problems.push(
        `${conflicts.length} key${conflicts.length === 1 ? '' : 's'} of the source not copied: the target held ${conflicts.length === 1 ? 'a key' : 'keys'} of that name already, different (something wrote to the target during the copy)`,
      );
    }
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
      problems.push(`${mismatches.length} of ${verification.compared} compared keys differ`);
    }
    if (problems.length === 0) {
      const dbs = sizes.map((size) => `db${size.db} ${size.source}`).join(', ');
      process.stdout.write(
        `verified: DBSIZE equal (${dbs || 'no keys'}); ${verification.compared} keys compared (${describeCompared(verification)}): type, value, TTL within ${TTL_TOLERANCE_MS} ms\n`,
      );
      return 0;
    }
    terminal.say(`ops copy-data: NOT verified: ${problems.join('; ')}`);
    const listed = [...conflicts, ...mismatches];
    for (const { db, key, difference } of listed.slice(0, LISTED_MISMATCHES)) {
      terminal.say(`  db${db} ${printableKey(key)}: ${difference}`);
    }
    if (listed.length > LISTED_MISMATCHES)
      terminal.say(`  ... and ${listed.length - LISTED_MISMATCHES} more`);
    if (conflicts.some(({ db, key }) => isHealthCheckKey(db, key))) {
      terminal.say(
        `db${HEALTH_CHECK.db} ${printableKey(HEALTH_CHECK.key)} is also the name of the counter the target's container health check INCRs: rename that key on the source (and in the application that uses it), then copy again.`,
      );
    }
    terminal.say(
      conflicts.length > 0
        ? 'Something wrote to the target during the copy (a producer or a Celery worker already pointed at it?): stop it, empty the target (FLUSHALL) and run copy-data again.'
        : evicted > 0
          ? 'Give the target enough memory for the data (maxmemory), empty it (FLUSHALL) and run copy-data again.'
          : 'Is something still writing to the source? Stop the producers and the Celery workers, empty the target (FLUSHALL) and run copy-data again.',
    );
    return 1;
  } catch (error) {
    terminal.clearProgress();
    if (error instanceof Interrupted) {
      terminal.say(`copy-data: interrupted.${partial()}`);
      return 130;
    }
    if (error instanceof UsageError) throw error;
    const message = explainFailure(
      error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error),
      connections,
    );
    terminal.say(`ops copy-data: ${message.replace(/\.$/, '')}.${partial()}`);
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

/** What `ping` in db0 is on the source, when db0 is copied ('none' when it is not). */
async function sourcePingKind(
  from: Redis,
  sourceFacts: ServerFacts,
  databases: readonly number[],
): Promise<PingKind> {
  if (!databases.includes(HEALTH_CHECK.db) || !sourceFacts.keyspace.has(HEALTH_CHECK.db)) return 'none';
  await from.select(HEALTH_CHECK.db);
  return pingKind(from);
}

/**
 * Why the copy must not start, if it must not: one server, a replica as target, data on the target,
 * or the source's `ping` (data, not a health check counter) where the target's health check keeps
 * its counter. `late`: this is the check again, right before the first write.
 */
async function refuse(
  from: Redis,
  to: Redis,
  sourceFacts: ServerFacts,
  targetFacts: ServerFacts,
  onlyDb: number | undefined,
  sourcePing: PingKind,
  late = false,
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
  const flush = `FLUSHALL${onlyDb === undefined ? '' : `, or FLUSHDB in db${onlyDb}`}`;
  if (occupied !== '' && late) {
    return `the target is not empty any more (${occupied}): something wrote to it after the check at the start (a producer or a Celery worker already pointed at it?). copy-data never writes over data, and nothing was written. Stop what writes to the target, empty it by hand (${flush}), then run copy-data again`;
  }
  if (occupied !== '') {
    return `the target is not empty (${occupied}): copy-data never writes over data, and nothing was written. If that data may go, empty the target by hand (${flush}), then run copy-data again`;
  }
  if (typeof sourcePing === 'object') {
    await to.select(HEALTH_CHECK.db);
    if ((await pingKind(to)) !== 'none') {
      return `db${HEALTH_CHECK.db} ${printableKey(HEALTH_CHECK.key)} on the source is ${describePing(sourcePing)} (data, not a health check counter), and the target holds its own ${printableKey(HEALTH_CHECK.key)}: the counter its container's health check INCRs. copy-data never writes over a key, so it cannot copy that one; nothing was written. Rename the key on the source (and in the application that uses it), then run copy-data again`;
    }
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

/** What the verification compared, and the differences it found. */
interface Verification {
  /** Keys compared. */
  compared: number;
  /** Every string compared (a small dataset), else a uniform sample of them. */
  readonly allStrings: boolean;
  collections: number;
  strings: number;
  stringsCompared: number;
  /** Keys found on the target already, as on the source, during the copy: compared again. */
  repeated: number;
  readonly mismatches: Difference[];
}

/**
 * Every key of the source, with SCAN: every list, hash, set, sorted set and stream compared in
 * full (the Celery shapes: queues, unacked, bindings); the strings all in a small dataset, else a
 * uniform sample of VERIFY_ALL_BELOW of them; then the keys SCAN returned twice during the copy.
 */
async function verify(
  from: Redis,
  to: Redis,
  databases: readonly number[],
  options: {
    readonly compareAllStrings: boolean;
    readonly skipPing: boolean;
    readonly repeated: readonly DbKey[];
    readonly progress: KeyProgress;
    readonly checkInterrupted: () => void;
  },
): Promise<Verification> {
  const result: Verification = {
    compared: 0,
    allStrings: options.compareAllStrings,
    collections: 0,
    strings: 0,
    stringsCompared: 0,
    repeated: 0,
    mismatches: [],
  };
  const sample = new Reservoir<DbKey>(VERIFY_ALL_BELOW);
  const compare = async (db: number, keys: readonly Buffer[]) => {
    const differences = await compareKeys(from, to, db, keys, options.progress, options.checkInterrupted);
    result.compared += keys.length;
    result.mismatches.push(...differences);
  };
  for (const db of databases) {
    await Promise.all([from.select(db), to.select(db)]);
    let cursor = '0';
    do {
      options.checkInterrupted();
      const [next, scanned] = await from.scanBuffer(cursor, 'COUNT', DEFAULT_LIMITS.scanCount);
      cursor = String(next);
      const keys = options.skipPing ? scanned.filter((key) => !isHealthCheckKey(db, key)) : scanned;
      if (keys.length === 0) continue;
      const pipeline = from.pipeline();
      for (const key of keys) pipeline.type(key);
      const types = await execAll(pipeline, () => `TYPE on the source (db${db})`);
      const now: Buffer[] = [];
      keys.forEach((key, i) => {
        const type = String(types[i]);
        if (type === 'none') return; // expired since SCAN
        if (type !== 'string') result.collections++;
        else {
          result.strings++;
          if (!options.compareAllStrings) {
            sample.add({ db, key });
            return;
          }
          result.stringsCompared++;
        }
        now.push(key);
      });
      await compare(db, now);
    } while (cursor !== '0');
  }
  const later = [
    ...sample.items,
    // Compared in the scan above already when every key was.
    ...(options.compareAllStrings ? [] : options.repeated),
  ];
  result.stringsCompared += sample.items.length;
  result.repeated = options.repeated.length;
  for (const db of databases) {
    const keys = later.filter((item) => item.db === db).map(({ key }) => key);
    if (keys.length === 0) continue;
    await Promise.all([from.select(db), to.select(db)]);
    await compare(db, keys);
  }
  return result;
}

function describeCompared(verification: Verification): string {
  if (verification.allStrings) return 'all';
  const { collections, strings, stringsCompared, repeated } = verification;
  return `every list, hash, set, sorted set and stream: ${collections}; strings: a uniform sample of ${stringsCompared} of ${strings}${repeated > 0 ? `; and ${repeated} found on the target already` : ''}`;
}

/** `keys` of database `db` compared on both servers, a few at a time; the ones that differ. */
async function compareKeys(
  from: Redis,
  to: Redis,
  db: number,
  keys: readonly Buffer[],
  progress: KeyProgress,
  checkInterrupted: () => void,
): Promise<Difference[]> {
  const mismatches: Difference[] = [];
  for (let start = 0; start < keys.length; start += COMPARE_CONCURRENCY) {
    checkInterrupted();
    const slice = keys.slice(start, start + COMPARE_CONCURRENCY);
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
  return mismatches;
}

function summary(
  header: string,
  results: readonly DatabaseResult[],
  streams: StreamReport,
  seconds: number,
): string[] {
  const lines = [`copied ${header} in ${seconds.toFixed(1)} s`];
  for (const { db, copied, skippedExpired, repeated, conflicts, healthCheck } of results) {
    const parts = [`${copied} key${copied === 1 ? '' : 's'} copied`];
    if (skippedExpired > 0) parts.push(`${skippedExpired} skipped (expired during the copy)`);
    if (repeated > 0) parts.push(`${repeated} on the target already, as on the source (not written again)`);
    if (conflicts > 0) {
      parts.push(
        `${conflicts} NOT copied (the target held ${conflicts === 1 ? 'a key' : 'keys'} of that name already, different)`,
      );
    }
    if (healthCheck) {
      parts.push(`not the health check's counter "${HEALTH_CHECK.key}" (the target keeps its own)`);
    }
    lines.push(`  db${db}: ${parts.join(', ')}`);
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
