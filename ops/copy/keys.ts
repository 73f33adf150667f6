import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { ChunkSizer, replyBytes } from './chunks';
import { CopyError } from './connection';

/** The key types the copy knows how to write; any other (a module's) is refused before anything is copied. */
export const COPYABLE_TYPES = ['string', 'list', 'hash', 'set', 'zset', 'stream'] as const;
export type CopyableType = (typeof COPYABLE_TYPES)[number];

export function isCopyable(type: string): type is CopyableType {
  return (COPYABLE_TYPES as readonly string[]).includes(type);
}

/** How much one command and one pipeline carry: what keeps memory bounded whatever the values' size. */
export interface CopyLimits {
  /** Keys per SCAN (COUNT) and per batch. */
  readonly scanCount: number;
  /** At most this many elements per read and per write of a list, hash, set, sorted set or stream. */
  readonly chunkElements: number;
  /**
   * Bytes per read of a large value: per GETRANGE of a long string, and what one read of a large
   * collection aims at (its element count chosen from MEMORY USAGE, then from the bytes read).
   */
  readonly chunkBytes: number;
  /** Bytes (strings and collections alike) one pipelined read of small keys may bring back. */
  readonly batchBytes: number;
  /** Collection elements one pipelined read of small keys may bring back. */
  readonly batchElements: number;
}

export const DEFAULT_LIMITS: CopyLimits = {
  scanCount: 1000,
  chunkElements: 1000,
  chunkBytes: 1024 * 1024,
  batchBytes: 16 * 1024 * 1024,
  batchElements: 20_000,
};

/** What the copy of streams found and did (consumer groups, pending entries). */
export interface StreamReport {
  streams: number;
  groups: number;
  consumers: number;
  /** Pending entries recreated on the target (XCLAIM ... FORCE): consumer and delivery count kept. */
  pendingRecreated: number;
  /** Pending entries whose message is no longer in the stream (XDEL): they cannot be recreated. */
  readonly pendingLost: { key: Buffer; group: string; count: number }[];
}

export function emptyStreamReport(): StreamReport {
  return { streams: 0, groups: 0, consumers: 0, pendingRecreated: 0, pendingLost: [] };
}

export function addStreamReport(into: StreamReport, from: StreamReport): void {
  into.streams += from.streams;
  into.groups += from.groups;
  into.consumers += from.consumers;
  into.pendingRecreated += from.pendingRecreated;
  into.pendingLost.push(...from.pendingLost);
}

/** What one batch of keys came to. */
export interface BatchResult {
  /** The keys written to the target (with their TTLs). */
  readonly copied: Buffer[];
  /** Keys SCAN returned that expired (or went) before they could be read, or whose TTL ran out during the copy. */
  skippedExpired: number;
  /**
   * Keys not copied because the target holds a key of that name already: never written over, nor
   * into. SCAN returned the key a second time (it may, while the table grows or shrinks: then it is
   * there as copied), or something else wrote it on the target (then it differs): the caller tells.
   */
  readonly existing: Buffer[];
  readonly streams: StreamReport;
}

/** A key name for a message: quoted text when it is printable UTF-8, else its bytes in hex. */
export function printableKey(key: Buffer): string {
  const text = key.toString('utf8');
  const printable =
    Buffer.from(text, 'utf8').equals(key) && key.every((byte) => byte >= 0x20 && byte !== 0x7f);
  const shown = printable ? JSON.stringify(text) : `0x${key.toString('hex')}`;
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}

/** Runs a pipeline; the first failed command becomes one error naming `what`. */
export async function execAll(pipeline: ChainableCommander, what: () => string): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw new CopyError(`${what()}: ${error.message}`);
    return value;
  });
}

/** Runs a pipeline; each command's error (or undefined) and value. */
async function execEach(pipeline: ChainableCommander): Promise<[Error | null, unknown][]> {
  return ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
}

// ---- temporary keys ----------------------------------------------------------------------------

/**
 * Every collection (and every string too long for one write) is built on the target under a
 * temporary key of this prefix, then put in place with RENAMENX: a key that appeared on the target
 * meanwhile is never merged into (HSET, ZADD, SADD, RPUSH into someone else's key) nor written over.
 */
export const TEMPORARY_PREFIX = 'copy-data:tmp:';
const temporaryRun = `${process.pid}:${randomBytes(6).toString('hex')}`;
let temporaries = 0;

function temporaryKey(): Buffer {
  temporaries++;
  return Buffer.from(`${TEMPORARY_PREFIX}${temporaryRun}:${temporaries}`);
}

/**
 * The TTL a temporary key has while it is built (refreshed with every chunk), so that one left
 * behind by a killed copy goes on its own. The key's own expiry time (or none) replaces it before
 * RENAMENX.
 */
const TEMPORARY_TTL_MS = 24 * 3600 * 1000;

// ---- the copy ----------------------------------------------------------------------------------

const SIZE_COMMAND: Record<CopyableType, string> = {
  string: 'STRLEN',
  list: 'LLEN',
  hash: 'HLEN',
  set: 'SCARD',
  zset: 'ZCARD',
  stream: 'XLEN',
};

interface PlannedKey {
  readonly key: Buffer;
  readonly type: CopyableType;
  /** Elements (collections). */
  readonly size: number;
  /** MEMORY USAGE on the source, in bytes (undefined: the server would not tell). */
  readonly usage?: number;
}

/** What became of one key. */
type Outcome = 'copied' | 'expired' | 'existing';

/** A whole value, read, with its expiry time (ms since the epoch, -1 none): ready to write. */
interface ReadValue {
  readonly key: Buffer;
  readonly expireAt: number;
  readonly value: SmallValue;
}

/** A value as read: the arguments of its write commands (members, field/value or score/member pairs). */
type SmallValue =
  | { type: 'string'; value: Buffer }
  | { type: Exclude<CopyableType, 'string' | 'stream'>; items: Buffer[] };

const SCAN_COMMAND = { hash: 'HSCAN', set: 'SSCAN', zset: 'ZSCAN' } as const;
const WRITE_COMMAND = { list: 'RPUSH', hash: 'HSET', set: 'SADD', zset: 'ZADD' } as const;
/** Items per element: a hash field and its value, a score and its member. */
const ITEMS_PER_ELEMENT = { list: 1, hash: 2, set: 1, zset: 2 } as const;

const notInterrupted = () => {};

/**
 * Copies `keys` (one SCAN batch) from `source` to `target`, both with the same database selected.
 * Type-aware and binary-safe; TTLs as absolute expiry times (PEXPIRETIME -> PXAT/PEXPIREAT). In
 * few round trips for the usual small keys: TYPE of all (and EXISTS on the target); then each
 * string's value (up to one small chunk) and expiry time, each collection's size and MEMORY USAGE;
 * then the small collections' values, a group within the byte budget at a time; then one write
 * pipeline. Larger values go one by one, in chunks sized in bytes.
 *
 * Nothing on the target is written over or into: a key the target holds already is not copied
 * (`existing`); a string is written with SET NX, every other value under a temporary key that
 * RENAMENX puts in place (when the name was taken meanwhile, the temporary key is deleted and the
 * key counts as existing). A key gone from the source before it is read (it expired) is skipped,
 * and so is one whose expiry time has passed on the target's clock. `checkInterrupted` is called
 * between groups and before every chunk of a large value (a temporary key is deleted when it throws).
 */
export async function copyKeys(
  source: Redis,
  target: Redis,
  keys: readonly Buffer[],
  limits: CopyLimits = DEFAULT_LIMITS,
  checkInterrupted: () => void = notInterrupted,
): Promise<BatchResult> {
  const result: BatchResult = { copied: [], skippedExpired: 0, existing: [], streams: emptyStreamReport() };
  const count = (key: Buffer, outcome: Outcome) => {
    if (outcome === 'copied') result.copied.push(key);
    else if (outcome === 'expired') result.skippedExpired++;
    else result.existing.push(key);
  };
  const unique = dedupe(keys);
  if (unique.length === 0) return result;

  // 1. The types, which keys the target holds already, and the target's clock (a key whose expiry
  //    time has passed on it is not written).
  const typePipeline = source.pipeline();
  const existsPipeline = target.pipeline();
  for (const key of unique) {
    typePipeline.type(key);
    existsPipeline.exists(key);
  }
  const [types, onTarget, clock] = await Promise.all([
    execAll(typePipeline, () => 'reading the types of a batch of keys from the source'),
    execAll(existsPipeline, () => 'checking the keys on the target'),
    target.time(),
  ]);
  const targetNow = Number(clock[0]) * 1000 + Math.floor(Number(clock[1]) / 1000);
  const typed: { key: Buffer; type: CopyableType }[] = [];
  unique.forEach((key, i) => {
    const type = String(types[i]);
    if (type === 'none') count(key, 'expired');
    else if (!isCopyable(type)) {
      throw new CopyError(
        `key ${printableKey(key)} has type ${type}, which copy-data cannot copy (it appeared after the check at the start)`,
      );
    } else if (Number(onTarget[i]) === 1) count(key, 'existing');
    else typed.push({ key, type });
  });

  // 2. Strings: the value (its first chunk) and expiry time. Collections: the size, and the bytes.
  //    As many strings per pipeline as their first chunks fit the batch budget.
  const firstChunk = Math.min(FIRST_STRING_CHUNK, limits.chunkBytes);
  const stringsPerProbe = Math.max(1, Math.floor(limits.batchBytes / firstChunk));
  const probed: [Error | null, unknown][] = [];
  for (let start = 0; start < typed.length; ) {
    const probe = source.pipeline();
    let strings = 0;
    for (; start < typed.length && strings < stringsPerProbe; start++) {
      const { key, type } = typed[start] as (typeof typed)[number];
      if (type === 'string') {
        probe.getrangeBuffer(key, 0, firstChunk - 1).pexpiretime(key);
        strings++;
      } else
        probe.call(SIZE_COMMAND[type], key).call('MEMORY', 'USAGE', key, 'SAMPLES', limits.chunkElements);
    }
    probed.push(...(await execEach(probe)));
  }
  const ready: ReadValue[] = [];
  const collections: PlannedKey[] = [];
  const large: PlannedKey[] = [];
  let at = 0;
  for (const { key, type } of typed) {
    const [readError, first] = probed[at++] ?? [null, null];
    const [secondError, second] = probed[at++] ?? [null, null];
    if (readError) throw sourceChanged(key, type, readError);
    if (type === 'string') {
      const expireAt = Number(second ?? -2);
      if (secondError) throw sourceChanged(key, type, secondError);
      if (expireAt === -2) count(key, 'expired');
      else if ((first as Buffer).length >= firstChunk) large.push({ key, type, size: 0 });
      else ready.push({ key, expireAt, value: { type, value: first as Buffer } });
      continue;
    }
    const size = Number(first);
    // MEMORY USAGE may be refused (an ACL without it): then the size in bytes is unknown.
    const usage = secondError || second === null || second === undefined ? undefined : Number(second);
    const planned: PlannedKey = { key, type, size, ...(usage !== undefined && { usage }) };
    if (
      type !== 'stream' &&
      size <= limits.chunkElements &&
      usage !== undefined &&
      usage <= limits.chunkBytes
    ) {
      collections.push(planned);
    } else large.push(planned);
  }

  // 3. The small strings, written. 4. The small collections, read and written a group within the
  //    byte budget at a time (only one group's values in memory). 5. The large values, in chunks.
  const write = async (values: readonly ReadValue[]) => {
    for (const [key, outcome] of await writeValues(target, values, targetNow, limits)) count(key, outcome);
  };
  for (const group of writeGroups(ready, limits)) {
    checkInterrupted();
    await write(group);
  }
  for (const group of budgetGroups(collections, limits)) {
    checkInterrupted();
    await write(await readCollections(source, group, limits, (key) => count(key, 'expired')));
  }
  for (const planned of large) {
    checkInterrupted();
    count(
      planned.key,
      planned.type === 'stream'
        ? await copyStream(source, target, planned, limits, result.streams, checkInterrupted)
        : await copyLargeKey(source, target, planned, limits, checkInterrupted),
    );
  }
  return result;
}

/** Strings up to this size are read in the batch's first pipelines (batchBytes / 64 KiB of them per pipeline). */
const FIRST_STRING_CHUNK = 64 * 1024;

function sourceChanged(key: Buffer, type: string, error: Error): CopyError {
  // The key changed type between the batch's TYPE and this read: the source is being written.
  return new CopyError(
    `reading ${printableKey(key)} (${type}) from the source failed: ${error.message}; stop every client that writes to the source, then start again`,
  );
}

function dedupe(keys: readonly Buffer[]): Buffer[] {
  const seen = new Set<string>();
  return keys.filter((key) => {
    const id = key.toString('latin1');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Small collections in groups whose bytes (MEMORY USAGE) and elements stay within the batch budget. */
function budgetGroups(keys: readonly PlannedKey[], limits: CopyLimits): PlannedKey[][] {
  const groups: PlannedKey[][] = [];
  let group: PlannedKey[] = [];
  let elements = 0;
  let bytes = 0;
  for (const planned of keys) {
    const usage = planned.usage ?? limits.chunkBytes;
    if (
      group.length > 0 &&
      (elements + planned.size > limits.batchElements || bytes + usage > limits.batchBytes)
    ) {
      groups.push(group);
      group = [];
      elements = 0;
      bytes = 0;
    }
    group.push(planned);
    elements += planned.size;
    bytes += usage;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Values to write in groups within the batch budget (bytes of strings and collections, elements). */
function writeGroups(values: readonly ReadValue[], limits: CopyLimits): ReadValue[][] {
  const groups: ReadValue[][] = [];
  let group: ReadValue[] = [];
  let bytes = 0;
  let elements = 0;
  for (const read of values) {
    const addBytes = read.value.type === 'string' ? read.value.value.length : replyBytes(read.value.items);
    const addElements = read.value.type === 'string' ? 1 : read.value.items.length;
    if (
      group.length > 0 &&
      (bytes + addBytes > limits.batchBytes || elements + addElements > limits.batchElements)
    ) {
      groups.push(group);
      group = [];
      bytes = 0;
      elements = 0;
    }
    group.push(read);
    bytes += addBytes;
    elements += addElements;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Reads small collections in one pipeline (each read, then its PEXPIRETIME: a key that expired
 * between is seen as gone) and finishes any HSCAN/SSCAN/ZSCAN that needs more than one call.
 */
async function readCollections(
  source: Redis,
  keys: readonly PlannedKey[],
  limits: CopyLimits,
  expired: (key: Buffer) => void,
): Promise<ReadValue[]> {
  const read = source.pipeline();
  for (const { key, type } of keys) {
    if (type === 'list') read.lrangeBuffer(key, 0, -1);
    else
      read.callBuffer(
        SCAN_COMMAND[type as keyof typeof SCAN_COMMAND],
        key,
        '0',
        'COUNT',
        limits.chunkElements,
      );
    read.pexpiretime(key);
  }
  const replies = await execEach(read);
  const values: ReadValue[] = [];
  for (const [i, { key, type }] of keys.entries()) {
    const [readError, reply] = replies[2 * i] ?? [null, null];
    const [, expireAt] = replies[2 * i + 1] ?? [null, -2];
    if (readError) throw sourceChanged(key, type, readError);
    let items: Buffer[];
    if (type === 'list') items = reply as Buffer[];
    else {
      const [cursor, first] = reply as [Buffer, Buffer[]];
      items = first;
      if (String(cursor) !== '0') {
        items.push(
          ...(await scanAll(source, type as keyof typeof SCAN_COMMAND, key, String(cursor), limits)),
        );
      }
    }
    // Gone, or emptied while it was read: it expired.
    if (Number(expireAt) === -2 || items.length === 0) expired(key);
    else
      values.push({
        key,
        expireAt: Number(expireAt),
        value: { type: type as keyof typeof WRITE_COMMAND, items },
      });
  }
  return values;
}

/**
 * Writes whole values in one pipeline: a string with SET NX (PXAT its expiry time); a collection
 * under a temporary key (RPUSH/HSET/SADD/ZADD in chunks, then PEXPIREAT), which RENAMENX puts in
 * place. A value whose expiry time has passed on the target's clock is not written; one whose name
 * the target holds already is not either (`existing`: its temporary key is deleted).
 */
async function writeValues(
  target: Redis,
  values: readonly ReadValue[],
  targetNow: number,
  limits: CopyLimits,
): Promise<[Buffer, Outcome][]> {
  const outcomes: [Buffer, Outcome][] = [];
  const write = target.pipeline();
  /** Each key written, its temporary key, and where its SET NX or RENAMENX is in the pipeline. */
  const written: { key: Buffer; temporary?: Buffer; at: number }[] = [];
  let queued = 0;
  for (const { key, expireAt, value } of values) {
    if (expireAt >= 0 && expireAt <= targetNow) {
      outcomes.push([key, 'expired']);
      continue;
    }
    if (value.type === 'string') {
      write.call('SET', key, value.value, 'NX', ...(expireAt >= 0 ? ['PXAT', expireAt] : []));
      written.push({ key, at: queued++ });
      continue;
    }
    const temporary = temporaryKey();
    const step = limits.chunkElements * ITEMS_PER_ELEMENT[value.type];
    for (let start = 0; start < value.items.length; start += step) {
      write.call(
        WRITE_COMMAND[value.type],
        temporary,
        ...scoreFirst(value.type, value.items.slice(start, start + step)),
      );
      queued++;
    }
    if (expireAt >= 0) {
      write.call('PEXPIREAT', temporary, expireAt);
      queued++;
    }
    write.call('RENAMENX', temporary, key);
    written.push({ key, temporary, at: queued++ });
  }
  if (written.length === 0) return outcomes;
  const replies = await execEach(write);
  const temporaries = written.flatMap(({ temporary }) => (temporary === undefined ? [] : [temporary]));
  const renames = new Set(written.filter(({ temporary }) => temporary !== undefined).map(({ at }) => at));
  // A RENAMENX of a temporary key whose expiry time passed right then (PEXPIREAT) finds no key.
  const failed = replies.find(
    ([error], i) => error && !(renames.has(i) && /no such key/i.test(error.message)),
  );
  if (failed?.[0]) {
    await target.del(...temporaries).catch(() => undefined);
    throw new CopyError(`writing to the target failed: ${failed[0].message}`);
  }
  const leftover: Buffer[] = [];
  for (const { key, temporary, at } of written) {
    const [error, reply] = replies[at] ?? [null, null];
    if (error) outcomes.push([key, 'expired']);
    else if (temporary === undefined) outcomes.push([key, reply === null ? 'existing' : 'copied']);
    else if (Number(reply) === 1) outcomes.push([key, 'copied']);
    else {
      leftover.push(temporary);
      outcomes.push([key, 'existing']);
    }
  }
  if (leftover.length > 0) {
    await execAll(target.pipeline().del(...leftover), () => 'deleting temporary keys on the target');
  }
  return outcomes;
}

/** The rest of an HSCAN/SSCAN/ZSCAN from `cursor` on: every item (repeats are harmless to write). */
async function scanAll(
  source: Redis,
  type: keyof typeof SCAN_COMMAND,
  key: Buffer,
  cursor: string,
  limits: CopyLimits,
): Promise<Buffer[]> {
  const items: Buffer[] = [];
  let next = cursor;
  do {
    const [nextCursor, batch] = (await source.callBuffer(
      SCAN_COMMAND[type],
      key,
      next,
      'COUNT',
      limits.chunkElements,
    )) as [Buffer, Buffer[]];
    next = String(nextCursor);
    items.push(...batch);
  } while (next !== '0');
  return items;
}

/**
 * ZSCAN answers member, score; ZADD takes score, member. The score stays the server's text (Valkey
 * prints the shortest form that reads back as the same double, e.g. 1764460800.123456): Redis
 * parses it to exactly the same double. No JavaScript number in between.
 */
function scoreFirst(type: keyof typeof WRITE_COMMAND, items: Buffer[]): Buffer[] {
  if (type !== 'zset') return items;
  const swapped: Buffer[] = [];
  for (let i = 0; i + 1 < items.length; i += 2) swapped.push(items[i + 1] as Buffer, items[i] as Buffer);
  return swapped;
}

/**
 * A large value, one chunk in memory at a time, into a temporary key: a string longer than the
 * first chunk (GETRANGE -> SET, then APPEND), a list (LRANGE -> RPUSH, in order), a hash, set or
 * sorted set (HSCAN/SSCAN/ZSCAN -> HSET/SADD/ZADD). Each read asks for as many elements as fit
 * `limits.chunkBytes` (ChunkSizer). Then the TTL and RENAMENX (finishKey).
 */
async function copyLargeKey(
  source: Redis,
  target: Redis,
  planned: PlannedKey,
  limits: CopyLimits,
  checkInterrupted: () => void,
): Promise<Outcome> {
  const { key, type } = planned;
  const what = () => `copying ${printableKey(key)} (${type})`;
  const read = <T>(reply: Promise<T>) =>
    reply.catch((error: Error) => {
      throw sourceChanged(key, type, error);
    });
  const temporary = temporaryKey();
  const append = async (command: string, items: Buffer[]) => {
    await execAll(
      target
        .pipeline()
        .call(command, temporary, ...items)
        .pexpire(temporary, TEMPORARY_TTL_MS),
      () => `${what()} to the target failed`,
    );
  };
  let wrote = false;
  try {
    if (type === 'string') {
      for (let start = 0; ; start += limits.chunkBytes) {
        checkInterrupted();
        const chunk = await read(source.getrangeBuffer(key, start, start + limits.chunkBytes - 1));
        if (chunk.length === 0) break;
        await append(start === 0 ? 'SET' : 'APPEND', [chunk]);
        wrote = true;
        if (chunk.length < limits.chunkBytes) break;
      }
    } else if (type === 'list') {
      const sizer = new ChunkSizer(limits, planned.size, planned.usage);
      for (let start = 0; ; ) {
        checkInterrupted();
        const asked = sizer.count;
        const items = await read(source.lrangeBuffer(key, start, start + asked - 1));
        if (items.length === 0) break;
        sizer.observe(items.length, replyBytes(items));
        await append('RPUSH', items);
        wrote = true;
        start += items.length;
        if (items.length < asked) break;
      }
    } else {
      const scanType = type as keyof typeof SCAN_COMMAND;
      const sizer = new ChunkSizer(limits, planned.size, planned.usage);
      let cursor = '0';
      do {
        checkInterrupted();
        const [next, items] = (await read(
          source.callBuffer(SCAN_COMMAND[scanType], key, cursor, 'COUNT', sizer.count),
        )) as [Buffer, Buffer[]];
        cursor = String(next);
        if (items.length > 0) {
          sizer.observe(items.length / ITEMS_PER_ELEMENT[scanType], replyBytes(items));
          await append(WRITE_COMMAND[scanType], scoreFirst(scanType, items));
          wrote = true;
        }
      } while (cursor !== '0');
    }
    return await finishKey(source, target, key, temporary, wrote, what);
  } catch (error) {
    await target.del(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * A value built under `temporary` on the target: its TTL read on the source at the end (a key
 * gone meanwhile expired: the temporary key is deleted), set on the temporary key as an absolute
 * time (or none), and RENAMENX to the key's name. When the target holds that name by then, the
 * temporary key is deleted and the key is `existing`: nothing is written over.
 */
async function finishKey(
  source: Redis,
  target: Redis,
  key: Buffer,
  temporary: Buffer,
  wrote: boolean,
  what: () => string,
): Promise<Outcome> {
  const expireAt = await source.pexpiretime(key);
  if (expireAt === -2 || !wrote) {
    if (wrote) await target.del(temporary).catch(failWith(what));
    return 'expired';
  }
  const place = target.pipeline();
  if (expireAt >= 0) place.call('PEXPIREAT', temporary, expireAt);
  else place.call('PERSIST', temporary);
  const [[expireError], [renameError, renamed]] = (await execEach(
    place.call('RENAMENX', temporary, key),
  )) as [[Error | null, unknown], [Error | null, unknown]];
  if (expireError) throw new CopyError(`${what()} to the target failed: ${expireError.message}`);
  if (renameError) {
    // Its expiry time had passed on the target's clock: PEXPIREAT deleted it.
    if (/no such key/i.test(renameError.message)) return 'expired';
    throw new CopyError(`${what()} to the target failed: ${renameError.message}`);
  }
  if (Number(renamed) === 1) return 'copied';
  await target.del(temporary).catch(failWith(what));
  return 'existing';
}

function failWith(what: () => string): (error: Error) => never {
  return (error) => {
    throw new CopyError(`${what()} to the target failed: ${error.message}`);
  };
}

// ---- streams ----------------------------------------------------------------------------------

/** A flat [name, value, name, value...] reply (XINFO) as a map. */
export function fieldMap(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  const items = Array.isArray(reply) ? reply : [];
  for (let i = 0; i + 1 < items.length; i += 2) map.set(String(items[i]), items[i + 1]);
  return map;
}

/** An XINFO value as text (ids, names), or undefined for nil. */
export function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  return Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
}

/** An XINFO name (group, consumer) as the bytes it is. */
function bytes(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
}

/**
 * A stream, exactly, into a temporary key that RENAMENX then puts in place (finishKey): its
 * entries with their ids (XRANGE -> XADD, as many per read as fit `limits.chunkBytes`), its last
 * id, entries-added and max-deleted-entry-id (XSETID), its consumer groups with their
 * last-delivered id and entries-read, their consumers, and their pending entries (XCLAIM ... IDLE
 * ... RETRYCOUNT ... FORCE JUSTID: the same consumer and delivery count; the idle time as of the
 * copy). A pending entry whose message was deleted from the stream cannot be recreated: it is
 * counted in `report.pendingLost`.
 */
async function copyStream(
  source: Redis,
  target: Redis,
  planned: PlannedKey,
  limits: CopyLimits,
  report: StreamReport,
  checkInterrupted: () => void,
): Promise<Outcome> {
  const { key } = planned;
  const what = () => `copying the stream ${printableKey(key)}`;
  let info: Map<string, unknown>;
  try {
    info = fieldMap(await source.callBuffer('XINFO', 'STREAM', key));
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return 'expired';
    throw new CopyError(`${what()}: ${(error as Error).message}`);
  }
  const temporary = temporaryKey();
  const found = emptyStreamReport();
  try {
    let added = 0;
    let start = '-';
    const sizer = new ChunkSizer(limits, planned.size, planned.usage);
    for (;;) {
      checkInterrupted();
      const asked = sizer.count;
      const entries = (await source.callBuffer('XRANGE', key, start, '+', 'COUNT', asked)) as [
        Buffer,
        Buffer[],
      ][];
      if (entries.length === 0) break;
      sizer.observe(entries.length, replyBytes(entries));
      const write = target.pipeline();
      for (const [id, fields] of entries) write.call('XADD', temporary, id, ...fields);
      write.pexpire(temporary, TEMPORARY_TTL_MS);
      await execAll(write, what);
      added += entries.length;
      const last = entries[entries.length - 1]?.[0];
      if (entries.length < asked || last === undefined) break;
      start = `(${last.toString('latin1')}`;
    }
    const temporaryGroup = `copy-data-${process.pid}-${Date.now()}`;
    if (added === 0) {
      // An empty stream (every entry deleted, or made by XGROUP CREATE ... MKSTREAM): XADD cannot
      // make one, a group with MKSTREAM can.
      await execAll(
        target
          .pipeline()
          .call('XGROUP', 'CREATE', temporary, temporaryGroup, '0', 'MKSTREAM')
          .pexpire(temporary, TEMPORARY_TTL_MS),
        what,
      );
    }
    const setId: (string | Buffer | number)[] = [temporary, text(info.get('last-generated-id')) ?? '0-0'];
    const entriesAdded = info.get('entries-added');
    if (entriesAdded !== undefined && entriesAdded !== null) setId.push('ENTRIESADDED', Number(entriesAdded));
    const maxDeleted = text(info.get('max-deleted-entry-id'));
    if (maxDeleted !== undefined && maxDeleted !== '0-0') setId.push('MAXDELETEDID', maxDeleted);
    await target.call('XSETID', ...setId).catch(failWith(what));
    if (added === 0) await target.call('XGROUP', 'DESTROY', temporary, temporaryGroup).catch(failWith(what));

    const groups = (await source.callBuffer('XINFO', 'GROUPS', key)) as unknown[];
    for (const rawGroup of groups) {
      const group = fieldMap(rawGroup);
      const name = bytes(group.get('name'));
      const create: (string | Buffer | number)[] = [
        'CREATE',
        temporary,
        name,
        text(group.get('last-delivered-id')) ?? '0-0',
      ];
      const entriesRead = group.get('entries-read');
      if (entriesRead !== undefined && entriesRead !== null) create.push('ENTRIESREAD', Number(entriesRead));
      await target.call('XGROUP', ...create).catch(failWith(what));
      found.groups++;
      const consumers = (await source.callBuffer('XINFO', 'CONSUMERS', key, name)) as unknown[];
      for (const rawConsumer of consumers) {
        const consumer = bytes(fieldMap(rawConsumer).get('name'));
        await target.call('XGROUP', 'CREATECONSUMER', temporary, name, consumer).catch(failWith(what));
        found.consumers++;
      }
      let lost = 0;
      let from = '-';
      for (;;) {
        checkInterrupted();
        const pending = (await source.callBuffer('XPENDING', key, name, from, '+', limits.chunkElements)) as [
          Buffer,
          Buffer,
          number,
          number,
        ][];
        if (pending.length === 0) break;
        const claim = target.pipeline();
        for (const [id, consumer, idle, deliveries] of pending) {
          claim.call(
            'XCLAIM',
            temporary,
            name,
            consumer,
            0,
            id,
            'IDLE',
            idle,
            'RETRYCOUNT',
            deliveries,
            'FORCE',
            'JUSTID',
          );
        }
        const claimed = await execAll(claim, what);
        for (const ids of claimed) {
          if (Array.isArray(ids) && ids.length === 1) found.pendingRecreated++;
          else lost++;
        }
        const last = pending[pending.length - 1]?.[0];
        if (pending.length < limits.chunkElements || last === undefined) break;
        from = `(${last.toString('latin1')}`;
      }
      if (lost > 0) found.pendingLost.push({ key, group: name.toString('utf8'), count: lost });
    }
    const outcome = await finishKey(source, target, key, temporary, true, what);
    if (outcome === 'copied') {
      found.streams++;
      addStreamReport(report, found);
    }
    return outcome;
  } catch (error) {
    await target.del(temporary).catch(() => undefined);
    throw error;
  }
}
