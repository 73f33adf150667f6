import Redis from 'ioredis';
import {
  type ConnectionSettings,
  describeTarget,
  ioredisOptions,
  type RedisTarget,
} from '../shared/redis-connection';
import { parseInfo } from '../shared/redis-info';

/** What one look at Redis returns. */
export interface RedisSample {
  /** When the sample was taken (after INFO answered). */
  readonly at: Date;
  /** INFO (all sections, `everything`) as a field map. */
  readonly info: Readonly<Record<string, string>>;
  /** DBSIZE of each database looked at, by database index. */
  readonly databaseKeys: Readonly<Record<number, number>>;
  /**
   * Messages waiting in each configured Celery queue (in `queueDatabase`): the LLEN of the queue's
   * list plus its priority lists, as kombu and Flower count them.
   */
  readonly queueLengths: Readonly<Record<string, number>>;
  /**
   * What could not be read although Redis answered (a queue name that holds another type, a
   * database index out of range, a command the ACL refuses): those points are left out.
   */
  readonly problems: readonly string[];
  /**
   * The key lookups the sample itself made (LLEN of the queue lists, before INFO): INFO's
   * keyspace_hits/misses include them, the published hits/misses must not.
   */
  readonly ownLookups: { readonly hits: number; readonly misses: number };
}

export interface SampleOptions {
  /** Celery queue names (kombu list keys) to measure. @default ['celery'] */
  readonly queues?: readonly string[];
  /** The database of Celery's broker URL (`redis://...:6379/0`). @default 0 */
  readonly queueDatabase?: number;
  /**
   * Databases to DBSIZE besides the non-empty ones INFO keyspace lists and `queueDatabase` (e.g. those
   * seen non-empty before, so a database that was emptied reports 0 instead of vanishing). @default none
   */
  readonly extraDatabases?: readonly number[];
  /** @default the ioredisOptions defaults (5 s connect, 10 s per command) */
  readonly connection?: ConnectionSettings;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Why Redis could not be sampled. */
export type SampleFailureReason = 'auth' | 'unreachable' | 'timeout' | 'error';

/** Redis could not be sampled; `reason` says why, the message names the server (never the password). */
export class SampleError extends Error {
  override name = 'SampleError';
  constructor(
    message: string,
    readonly reason: SampleFailureReason,
  ) {
    super(message);
  }
}

/**
 * kombu's Redis transport keeps a queue's messages of priority > 0 in extra lists named
 * `<queue>\x06\x16<step>` (default priority steps 0, 3, 6, 9); its `_size()` (and Flower) sum them.
 */
export const KOMBU_PRIORITY_SEPARATOR = '\x06\x16';
export const KOMBU_PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The Redis keys holding one Celery queue's messages. */
export function celeryQueueKeys(queue: string): string[] {
  return KOMBU_PRIORITY_STEPS.map((step) =>
    step === 0 ? queue : `${queue}${KOMBU_PRIORITY_SEPARATOR}${step}`,
  );
}

/** Database indexes listed by INFO keyspace (`db0:keys=12,expires=3,avg_ttl=0`). */
export function keyspaceDatabases(info: Readonly<Record<string, string>>): number[] {
  return Object.keys(info)
    .map((field) => /^db(\d+)$/.exec(field)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number);
}

/**
 * Samples Redis as the `monitor` ACL user (+ping +info +dbsize +select +slowlog|get +llen, read
 * access to keys): INFO everything, DBSIZE of every non-empty database (and the queue database and
 * `extraDatabases`), the length of each Celery queue. Nothing that reads a value or writes.
 *
 * Rejects with a SampleError when Redis cannot be reached, refuses the credentials, or INFO fails;
 * a failing DBSIZE/LLEN only leaves that point out (`problems`).
 */
export async function sampleRedis(target: RedisTarget, options: SampleOptions = {}): Promise<RedisSample> {
  // disconnectTimeout: ioredis arms a timer (2 s by default) to destroy the socket after
  // disconnect(), also for a socket that is already closed, which keeps the process alive for no use.
  const client = new Redis({ ...ioredisOptions(target, options.connection), disconnectTimeout: 100 });
  // ioredis rejects connect() with a bare "Connection is closed." and reports the reason
  // (WRONGPASS, ECONNREFUSED...) as an 'error' event: keep the first one for the message.
  let reported: Error | undefined;
  client.on('error', (error: Error) => {
    reported ??= error;
  });
  const server = describeTarget(target);
  try {
    try {
      await client.connect();
    } catch (error) {
      throw toSampleError(server, reported ?? (error as Error));
    }
    const problems: string[] = [];
    const ownLookups = { hits: 0, misses: 0 };

    // The queues first, so that INFO's keyspace_hits/misses already hold these lookups and the
    // metrics can take them out of the same sample (LLEN counts a hit or a miss, like GET).
    const queueDatabase = options.queueDatabase ?? 0;
    const queueLengths: Record<string, number> = {};
    const queues = options.queues ?? ['celery'];
    if (queues.length > 0) {
      try {
        await client.select(queueDatabase);
        for (const queue of queues) {
          try {
            let length = 0;
            for (const key of celeryQueueKeys(queue)) {
              const keyLength = await lookup(client.llen(key), ownLookups);
              length += keyLength;
            }
            queueLengths[queue] = length;
          } catch (error) {
            problems.push(`queue ${queue} (db${queueDatabase}): ${(error as Error).message}`);
          }
        }
      } catch (error) {
        problems.push(`queues (db${queueDatabase}): ${(error as Error).message}`);
      }
    }

    let info: Record<string, string>;
    try {
      info = parseInfo(await client.info('everything'));
    } catch (error) {
      throw toSampleError(server, reported ?? (error as Error));
    }
    const at = (options.now ?? (() => new Date()))();

    const databases = [
      ...new Set([...keyspaceDatabases(info), queueDatabase, ...(options.extraDatabases ?? [])]),
    ].sort((a, b) => a - b);
    const databaseKeys: Record<number, number> = {};
    // One connection, one SELECT at a time: a refused SELECT must never let the next command run
    // in the previous database (a pipeline would go on regardless). DBSIZE counts no lookups.
    for (const database of databases) {
      try {
        await client.select(database);
        databaseKeys[database] = await client.dbsize();
      } catch (error) {
        problems.push(`db${database}: ${(error as Error).message}`);
      }
    }
    return { at, info, databaseKeys, queueLengths, problems, ownLookups };
  } finally {
    client.disconnect();
  }
}

/**
 * Counts the keyspace hit or miss an LLEN causes in Redis's stats: a missing key (length 0) is a
 * miss; an existing key is a hit, even when it holds another type (WRONGTYPE comes after the lookup).
 */
async function lookup(llen: Promise<number>, counts: { hits: number; misses: number }): Promise<number> {
  try {
    const length = await llen;
    if (length > 0) counts.hits++;
    else counts.misses++;
    return length;
  } catch (error) {
    if ((error as Error).message.startsWith('WRONGTYPE')) counts.hits++;
    throw error;
  }
}

function toSampleError(server: string, error: Error): SampleError {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message;
  if (/^(WRONGPASS|NOAUTH)\b/.test(message)) {
    return new SampleError(`Redis ${server} refused the credentials: ${message}`, 'auth');
  }
  if (/^NOPERM\b/.test(message)) {
    return new SampleError(`Redis ${server}: the ACL user may not run INFO: ${message}`, 'auth');
  }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return new SampleError(`Redis ${server} did not answer in time: ${message}`, 'timeout');
  }
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(
      code ?? '',
    ) ||
    message === 'Connection is closed.'
  ) {
    return new SampleError(`Redis ${server} is unreachable: ${message}`, 'unreachable');
  }
  return new SampleError(`Redis ${server} could not be sampled: ${message}`, 'error');
}
