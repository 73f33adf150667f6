import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
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
  /** Elements per read and per write of a list, hash, set, sorted set or stream. */
  readonly chunkElements: number;
  /** Bytes per GETRANGE of a string longer than that (smaller ones are one GET). */
  readonly chunkBytes: number;
  /** String bytes one pipelined read of small keys may bring back. */
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
  /** Keys SCAN returned a second time (it may, e.g. while the table grows): already on the target. */
  repeated: number;
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
  readonly size: number;
}

/** What became of one key. */
type Outcome = 'copied' | 'expired' | 'repeated';

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

/**
 * Copies `keys` (one SCAN batch) from `source` to `target`, both with the same database selected.
 * Type-aware and binary-safe; TTLs as absolute expiry times (PEXPIRETIME -> PXAT/PEXPIREAT). In
 * few round trips for the usual small keys: TYPE of all; then each string's value (up to one
 * small chunk) and expiry time, each collection's size; then the small collections' values; then
 * one write pipeline. Larger values go one by one, in chunks.
 *
 * A key SCAN returns a second time is not written again: strings are written with SET NX, and a
 * first HSET/SADD/ZADD that adds nothing means the key was there; lists and streams (whose writes
 * would append) are checked with EXISTS first. A key gone from the source before it is read (it
 * expired) is skipped, and so is one whose expiry time has passed on the target's clock.
 */
export async function copyKeys(
  source: Redis,
  target: Redis,
  keys: readonly Buffer[],
  limits: CopyLimits = DEFAULT_LIMITS,
): Promise<BatchResult> {
  const result: BatchResult = { copied: [], skippedExpired: 0, repeated: 0, streams: emptyStreamReport() };
  const count = (key: Buffer, outcome: Outcome) => {
    if (outcome === 'copied') result.copied.push(key);
    else if (outcome === 'expired') result.skippedExpired++;
    else result.repeated++;
  };
  const unique = dedupe(keys);
  if (unique.length === 0) return result;

  // 1. The types, and the target's clock (a key whose expiry time has passed on it is not written).
  const typePipeline = source.pipeline();
  for (const key of unique) typePipeline.type(key);
  const [types, clock] = await Promise.all([
    execAll(typePipeline, () => 'reading the types of a batch of keys from the source'),
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
    } else typed.push({ key, type });
  });

  // 2. Strings: the value (its first chunk) and expiry time. Collections: the size. Lists and
  //    streams: whether the target has them already.
  const firstChunk = Math.min(FIRST_STRING_CHUNK, limits.chunkBytes);
  const probe = source.pipeline();
  const exists = target.pipeline();
  const existsAt = new Map<Buffer, number>();
  for (const { key, type } of typed) {
    if (type === 'string') probe.getrangeBuffer(key, 0, firstChunk - 1).pexpiretime(key);
    else probe.call(SIZE_COMMAND[type], key);
    if (type === 'list' || type === 'stream') {
      existsAt.set(key, existsAt.size);
      exists.exists(key);
    }
  }
  const [probed, existing] = await Promise.all([
    execEach(probe),
    existsAt.size > 0
      ? execAll(exists, () => 'checking lists and streams on the target')
      : Promise.resolve([]),
  ]);
  const ready: ReadValue[] = [];
  const collections: PlannedKey[] = [];
  const large: PlannedKey[] = [];
  let at = 0;
  for (const { key, type } of typed) {
    const where = existsAt.get(key);
    const onTarget = where !== undefined && existing[where] === 1;
    if (type === 'string') {
      const [readError, value] = probed[at++] ?? [null, null];
      const [, expireAt] = probed[at++] ?? [null, -2];
      if (readError) throw sourceChanged(key, type, readError);
      if (Number(expireAt) === -2) count(key, 'expired');
      else if ((value as Buffer).length >= firstChunk)
        large.push({ key, type, size: Number.MAX_SAFE_INTEGER });
      else ready.push({ key, expireAt: Number(expireAt), value: { type, value: value as Buffer } });
      continue;
    }
    const [sizeError, size] = probed[at++] ?? [null, 0];
    if (sizeError) throw sourceChanged(key, type, sizeError);
    if (onTarget) count(key, 'repeated');
    else if (type !== 'stream' && Number(size) <= limits.chunkElements) {
      collections.push({ key, type, size: Number(size) });
    } else large.push({ key, type, size: Number(size) });
  }

  // 3. The small strings, written. 4. The small collections, read and written a bounded group at a
  //    time (only one group's values in memory).
  const write = async (values: readonly ReadValue[]) => {
    for (const [key, outcome] of await writeValues(target, values, targetNow, limits)) count(key, outcome);
  };
  for (const group of writeGroups(ready, limits)) await write(group);
  for (const group of budgetGroups(collections, limits)) {
    await write(await readCollections(source, group, limits, (key) => count(key, 'expired')));
  }
  for (const planned of large) {
    count(
      planned.key,
      planned.type === 'stream'
        ? await copyStream(source, target, planned.key, limits, result.streams)
        : await copyLargeKey(source, target, planned, limits),
    );
  }
  return result;
}

/** Strings up to this size are read in the batch's pipeline (so 1000 of them hold at most 64 MiB). */
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

/** Small collections in groups whose elements together stay within the batch budget. */
function budgetGroups(keys: readonly PlannedKey[], limits: CopyLimits): PlannedKey[][] {
  const groups: PlannedKey[][] = [];
  let group: PlannedKey[] = [];
  let elements = 0;
  for (const planned of keys) {
    if (group.length > 0 && elements + planned.size > limits.batchElements) {
      groups.push(group);
      group = [];
      elements = 0;
    }
    group.push(planned);
    elements += planned.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Values to write in groups within the batch budget (string bytes, collection elements). */
function writeGroups(values: readonly ReadValue[], limits: CopyLimits): ReadValue[][] {
  const groups: ReadValue[][] = [];
  let group: ReadValue[] = [];
  let bytes = 0;
  let elements = 0;
  for (const read of values) {
    const addBytes = read.value.type === 'string' ? read.value.value.length : 0;
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
 * Writes whole values in one pipeline: a string with SET NX (PXAT its expiry time), a collection
 * with RPUSH/HSET/SADD/ZADD in chunks and then PEXPIREAT. A value whose expiry time has passed on
 * the target's clock is not written.
 */
async function writeValues(
  target: Redis,
  values: readonly ReadValue[],
  targetNow: number,
  limits: CopyLimits,
): Promise<[Buffer, Outcome][]> {
  const outcomes: [Buffer, Outcome][] = [];
  const write = target.pipeline();
  /** Each key written and where its first write command is in the pipeline. */
  const written: { key: Buffer; type: SmallValue['type']; at: number }[] = [];
  let queued = 0;
  for (const { key, expireAt, value } of values) {
    if (expireAt >= 0 && expireAt <= targetNow) {
      outcomes.push([key, 'expired']);
      continue;
    }
    written.push({ key, type: value.type, at: queued });
    if (value.type === 'string') {
      write.call('SET', key, value.value, 'NX', ...(expireAt >= 0 ? ['PXAT', expireAt] : []));
      queued++;
      continue;
    }
    const step = limits.chunkElements * ITEMS_PER_ELEMENT[value.type];
    for (let start = 0; start < value.items.length; start += step) {
      write.call(
        WRITE_COMMAND[value.type],
        key,
        ...scoreFirst(value.type, value.items.slice(start, start + step)),
      );
      queued++;
    }
    if (expireAt >= 0) {
      write.call('PEXPIREAT', key, expireAt);
      queued++;
    }
  }
  if (written.length === 0) return outcomes;
  const replies = await execEach(write);
  const failed = replies.find(([error]) => error);
  if (failed?.[0]) throw new CopyError(`writing to the target failed: ${failed[0].message}`);
  for (const { key, type, at } of written) {
    const first = replies[at]?.[1];
    // SET NX answers nil, and a first HSET/SADD/ZADD 0, when the key was on the target already.
    const repeated = type === 'string' ? first === null : type !== 'list' && first === 0;
    outcomes.push([key, repeated ? 'repeated' : 'copied']);
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
 * A string longer than the first chunk (GETRANGE -> SET NX, then APPEND), a list of more than one
 * chunk (LRANGE -> RPUSH, in order), a hash, set or sorted set of more (HSCAN/SSCAN/ZSCAN -> HSET/
 * SADD/ZADD), one chunk in memory at a time. The TTL is read at the end: a key that expired
 * meanwhile is removed from the target again and counted as expired.
 */
async function copyLargeKey(
  source: Redis,
  target: Redis,
  planned: PlannedKey,
  limits: CopyLimits,
): Promise<Outcome> {
  const { key, type } = planned;
  const what = () => `copying ${printableKey(key)} (${type})`;
  let wrote = false;
  if (type === 'string') {
    for (let start = 0; ; start += limits.chunkBytes) {
      const chunk = await source.getrangeBuffer(key, start, start + limits.chunkBytes - 1);
      if (chunk.length === 0 && start > 0) break;
      if (start === 0) {
        if ((await target.call('SET', key, chunk, 'NX').catch(failWith(what))) === null) return 'repeated';
      } else await target.call('APPEND', key, chunk).catch(failWith(what));
      wrote = true;
      if (chunk.length < limits.chunkBytes) break;
    }
  } else if (type === 'list') {
    for (let start = 0; ; start += limits.chunkElements) {
      const items = await source.lrangeBuffer(key, start, start + limits.chunkElements - 1);
      if (items.length === 0) break;
      await target.call('RPUSH', key, ...items).catch(failWith(what));
      wrote = true;
      if (items.length < limits.chunkElements) break;
    }
  } else {
    const scanType = type as keyof typeof SCAN_COMMAND;
    let cursor = '0';
    do {
      const [next, items] = (await source.callBuffer(
        SCAN_COMMAND[scanType],
        key,
        cursor,
        'COUNT',
        limits.chunkElements,
      )) as [Buffer, Buffer[]];
      cursor = String(next);
      if (items.length > 0) {
        const added = await target
          .call(WRITE_COMMAND[scanType], key, ...scoreFirst(scanType, items))
          .catch(failWith(what));
        if (!wrote && added === 0) return 'repeated';
        wrote = true;
      }
    } while (cursor !== '0');
  }
  return finishKey(source, target, key, wrote, what);
}

/** The TTL of a key whose value is on the target: copied as an absolute time; gone keys removed again. */
async function finishKey(
  source: Redis,
  target: Redis,
  key: Buffer,
  wrote: boolean,
  what: () => string,
): Promise<Outcome> {
  const expireAt = await source.pexpiretime(key);
  if (expireAt === -2 || !wrote) {
    if (wrote) await target.del(key).catch(failWith(what));
    return 'expired';
  }
  if (expireAt >= 0) {
    await target.call('PEXPIREAT', key, expireAt).catch(failWith(what));
    if ((await target.exists(key)) === 0) return 'expired';
  }
  return 'copied';
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
 * A stream, exactly: its entries with their ids (XRANGE -> XADD), its last id, entries-added and
 * max-deleted-entry-id (XSETID), its consumer groups with their last-delivered id and entries-read,
 * their consumers, and their pending entries (XCLAIM ... IDLE ... RETRYCOUNT ... FORCE JUSTID: the
 * same consumer and delivery count; the idle time as of the copy). A pending entry whose message
 * was deleted from the stream cannot be recreated: it is counted in `report.pendingLost`.
 */
async function copyStream(
  source: Redis,
  target: Redis,
  key: Buffer,
  limits: CopyLimits,
  report: StreamReport,
): Promise<Outcome> {
  const what = () => `copying the stream ${printableKey(key)}`;
  let info: Map<string, unknown>;
  try {
    info = fieldMap(await source.callBuffer('XINFO', 'STREAM', key));
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return 'expired';
    throw new CopyError(`${what()}: ${(error as Error).message}`);
  }
  let added = 0;
  let start = '-';
  for (;;) {
    const entries = (await source.callBuffer('XRANGE', key, start, '+', 'COUNT', limits.chunkElements)) as [
      Buffer,
      Buffer[],
    ][];
    if (entries.length === 0) break;
    const write = target.pipeline();
    for (const [id, fields] of entries) write.call('XADD', key, id, ...fields);
    await execAll(write, what);
    added += entries.length;
    const last = entries[entries.length - 1]?.[0];
    if (entries.length < limits.chunkElements || last === undefined) break;
    start = `(${last.toString('latin1')}`;
  }
  const temporaryGroup = `copy-data-${process.pid}-${Date.now()}`;
  if (added === 0) {
    // An empty stream (every entry deleted, or made by XGROUP CREATE ... MKSTREAM): XADD cannot
    // make one, a group with MKSTREAM can.
    await target.call('XGROUP', 'CREATE', key, temporaryGroup, '0', 'MKSTREAM').catch(failWith(what));
  }
  const setId: (string | Buffer | number)[] = [key, text(info.get('last-generated-id')) ?? '0-0'];
  const entriesAdded = info.get('entries-added');
  if (entriesAdded !== undefined && entriesAdded !== null) setId.push('ENTRIESADDED', Number(entriesAdded));
  const maxDeleted = text(info.get('max-deleted-entry-id'));
  if (maxDeleted !== undefined && maxDeleted !== '0-0') setId.push('MAXDELETEDID', maxDeleted);
  await target.call('XSETID', ...setId).catch(failWith(what));
  if (added === 0) await target.call('XGROUP', 'DESTROY', key, temporaryGroup).catch(failWith(what));

  const groups = (await source.callBuffer('XINFO', 'GROUPS', key)) as unknown[];
  for (const rawGroup of groups) {
    const group = fieldMap(rawGroup);
    const name = bytes(group.get('name'));
    const create: (string | Buffer | number)[] = [
      'CREATE',
      key,
      name,
      text(group.get('last-delivered-id')) ?? '0-0',
    ];
    const entriesRead = group.get('entries-read');
    if (entriesRead !== undefined && entriesRead !== null) create.push('ENTRIESREAD', Number(entriesRead));
    await target.call('XGROUP', ...create).catch(failWith(what));
    report.groups++;
    const consumers = (await source.callBuffer('XINFO', 'CONSUMERS', key, name)) as unknown[];
    for (const rawConsumer of consumers) {
      const consumer = bytes(fieldMap(rawConsumer).get('name'));
      await target.call('XGROUP', 'CREATECONSUMER', key, name, consumer).catch(failWith(what));
      report.consumers++;
    }
    let lost = 0;
    let from = '-';
    for (;;) {
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
          key,
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
        if (Array.isArray(ids) && ids.length === 1) report.pendingRecreated++;
        else lost++;
      }
      const last = pending[pending.length - 1]?.[0];
      if (pending.length < limits.chunkElements || last === undefined) break;
      from = `(${last.toString('latin1')}`;
    }
    if (lost > 0) report.pendingLost.push({ key, group: name.toString('utf8'), count: lost });
  }
  report.streams++;
  return finishKey(source, target, key, true, what);
}
