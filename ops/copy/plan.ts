import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { parseInfo } from '../../lambda/shared/redis-info';
import { CopyError, type Side } from './connection';
import { type CopyLimits, execAll, isCopyable, printableKey } from './keys';

/**
 * The container's health check INCRs `ping` in db0 every interval (docker/redis/healthcheck.sh,
 * the spec's `redis-cli incr ping`), so a new Fargate Redis is never quite empty; the source may
 * hold the counter of its own Fargate days (the seed carried it). Such a counter (a string holding
 * an integer) is no application data: the target's own is left as it is, the source's is not
 * copied, and neither counts as data. A `ping` of any other type or value is data, copied as any key.
 */
export const HEALTH_CHECK = { db: 0, key: Buffer.from('ping') } as const;

export function isHealthCheckKey(db: number, key: Buffer): boolean {
  return db === HEALTH_CHECK.db && key.equals(HEALTH_CHECK.key);
}

/** What `ping` is in the database `client` has selected (db0): none, a counter (INCR), or data of a type. */
export type PingKind = 'none' | 'counter' | { readonly data: string };

/** A string INCR accepts: a signed 64-bit integer, as Redis prints one. */
const INTEGER = /^(0|-?[1-9][0-9]{0,18})$/;

export async function pingKind(client: Redis): Promise<PingKind> {
  const type = await client.type(HEALTH_CHECK.key);
  if (type === 'none') return 'none';
  if (type !== 'string') return { data: type };
  // The first bytes only: a counter is at most 20 of them.
  const value = await client.getrange(HEALTH_CHECK.key, 0, 24);
  if (INTEGER.test(value)) {
    const number = BigInt(value);
    if (number >= -(2n ** 63n) && number < 2n ** 63n) return 'counter';
  }
  return { data: 'string' };
}

/** `a list`, `an integer counter`: for messages. */
export function describePing(kind: PingKind): string {
  if (kind === 'none') return 'no key';
  if (kind === 'counter') return 'an integer counter';
  return kind.data === 'string' ? 'a string that is no integer' : `a ${kind.data}`;
}

/**
 * The keys per database that are data: INFO keyspace without the health check's counter (an
 * integer `ping` in db0). `client` is left in db0 when it looked.
 */
export async function dataKeyspace(client: Redis, facts: ServerFacts): Promise<Map<number, number>> {
  const keyspace = new Map(facts.keyspace);
  const keys = keyspace.get(HEALTH_CHECK.db);
  if (keys !== undefined) {
    await client.select(HEALTH_CHECK.db);
    if ((await pingKind(client)) === 'counter') {
      if (keys <= 1) keyspace.delete(HEALTH_CHECK.db);
      else keyspace.set(HEALTH_CHECK.db, keys - 1);
    }
  }
  return keyspace;
}

/** What the copy needs to know about a server before it starts. */
export interface ServerFacts {
  /** `Valkey 8.1.1` or `Redis 7.0.15`. */
  readonly name: string;
  /** INFO server `run_id`: a random id of this server process. */
  readonly runId?: string;
  /** INFO replication `role`: master or slave. */
  readonly role: string;
  /** Keys per database that holds any (INFO keyspace). */
  readonly keyspace: ReadonlyMap<number, number>;
  /** INFO stats `evicted_keys`. */
  readonly evictedKeys: number;
  /** INFO memory `used_memory` and `maxmemory` (0: none), in bytes. */
  readonly usedMemory: number;
  readonly maxMemory: number;
}

export async function readServerFacts(client: Redis, side: Side): Promise<ServerFacts> {
  let info: Record<string, string>;
  try {
    info = {};
    for (const section of ['server', 'replication', 'keyspace', 'stats', 'memory']) {
      Object.assign(info, parseInfo(await client.info(section)));
    }
  } catch (error) {
    throw new CopyError(`INFO on the ${side} failed: ${(error as Error).message}`);
  }
  const keyspace = new Map<number, number>();
  for (const [field, value] of Object.entries(info)) {
    const db = /^db(\d+)$/.exec(field)?.[1];
    const keys = /(?:^|,)keys=(\d+)/.exec(value)?.[1];
    if (db !== undefined && keys !== undefined && Number(keys) > 0) keyspace.set(Number(db), Number(keys));
  }
  return {
    name:
      info.valkey_version !== undefined
        ? `Valkey ${info.valkey_version}`
        : `Redis ${info.redis_version ?? '?'}`,
    ...(info.run_id !== undefined && info.run_id !== '' && { runId: info.run_id }),
    role: info.role ?? 'unknown',
    keyspace,
    evictedKeys: Number(info.evicted_keys ?? 0),
    usedMemory: Number(info.used_memory ?? 0),
    maxMemory: Number(info.maxmemory ?? 0),
  };
}

/**
 * Whether the two connections reach one server process: the same `run_id` (INFO server). An engine
 * that hides run_id is asked differently: a random client name set on the source connection shows
 * up in the target's CLIENT LIST only if they are one server.
 */
export async function sameServer(
  source: Redis,
  target: Redis,
  sourceFacts: ServerFacts,
  targetFacts: ServerFacts,
): Promise<boolean> {
  if (sourceFacts.runId !== undefined && targetFacts.runId !== undefined) {
    return sourceFacts.runId === targetFacts.runId;
  }
  const name = `copy-data-probe-${randomBytes(8).toString('hex')}`;
  try {
    await source.call('CLIENT', 'SETNAME', name);
    const clients = String(await target.call('CLIENT', 'LIST'));
    await source.call('CLIENT', 'SETNAME', '');
    return clients.includes(`name=${name} `);
  } catch (error) {
    throw new CopyError(
      `cannot tell whether source and target are the same server (no run_id in INFO, and CLIENT SETNAME/LIST failed: ${(error as Error).message})`,
    );
  }
}

/** The keys of one database by type, as the check at the start found them. */
export interface DatabaseSurvey {
  readonly db: number;
  keys: number;
  readonly types: Map<string, number>;
}

export interface Survey {
  readonly databases: DatabaseSurvey[];
  /** The first keys whose type the copy cannot write (module types), and how many there are. */
  readonly unsupported: { db: number; key: Buffer; type: string }[];
  unsupportedCount: number;
}

/** How many keys of another type are listed when the copy refuses. */
const UNSUPPORTED_LISTED = 20;

/**
 * Every key of `databases` once (SCAN + pipelined TYPE): counts per type, for the plan and the
 * progress, and every key whose type cannot be copied (a module's), before anything is written.
 */
export async function surveyTypes(
  source: Redis,
  databases: readonly number[],
  limits: CopyLimits,
  onKeys: (db: number, keys: number) => void,
  checkInterrupted: () => void,
): Promise<Survey> {
  const survey: Survey = { databases: [], unsupported: [], unsupportedCount: 0 };
  for (const db of databases) {
    await source.select(db);
    const entry: DatabaseSurvey = { db, keys: 0, types: new Map() };
    survey.databases.push(entry);
    let cursor = '0';
    do {
      checkInterrupted();
      const [next, keys] = await source.scanBuffer(cursor, 'COUNT', limits.scanCount);
      cursor = String(next);
      if (keys.length === 0) continue;
      const pipeline = source.pipeline();
      for (const key of keys) pipeline.type(key);
      const types = await execAll(pipeline, () => `TYPE on the source (db${db})`);
      keys.forEach((key, i) => {
        const type = String(types[i]);
        if (type === 'none') return; // expired since SCAN
        entry.keys++;
        entry.types.set(type, (entry.types.get(type) ?? 0) + 1);
        if (!isCopyable(type)) {
          survey.unsupportedCount++;
          if (survey.unsupported.length < UNSUPPORTED_LISTED) survey.unsupported.push({ db, key, type });
        }
      });
      onKeys(db, entry.keys);
    } while (cursor !== '0');
  }
  return survey;
}

/** The refusal when the source holds keys of types the copy cannot write. */
export function unsupportedTypesMessage(survey: Survey): string {
  const listed = survey.unsupported.map(({ db, key, type }) => `  db${db} ${printableKey(key)} (${type})`);
  const more = survey.unsupportedCount - survey.unsupported.length;
  return [
    `the source holds ${survey.unsupportedCount} key${survey.unsupportedCount === 1 ? '' : 's'} of a type copy-data cannot copy (a module's type: Redis 7.0 has no such module); nothing was written:`,
    ...listed,
    ...(more > 0 ? [`  ... and ${more} more`] : []),
    'Delete or export them on the source first (they cannot live on the target), then run copy-data again.',
  ].join('\n');
}

/** `db0 12 keys, db3 1 key`. */
export function describeKeyspace(
  keyspace: ReadonlyMap<number, number>,
  databases?: readonly number[],
): string {
  return [...keyspace]
    .filter(([db]) => databases === undefined || databases.includes(db))
    .sort(([a], [b]) => a - b)
    .map(([db, keys]) => `db${db} ${keys} key${keys === 1 ? '' : 's'}`)
    .join(', ');
}
