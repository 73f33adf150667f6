import type Redis from 'ioredis';
import { ChunkSizer, memoryUsage, replyBytes } from './chunks';
import { CopyError } from './connection';
import { type CopyLimits, DEFAULT_LIMITS, execAll, fieldMap, text } from './keys';

/** How the verification compares a key. */
export interface CompareOptions {
  /** Two TTLs this far apart (ms) still count as equal: they are read a moment apart. */
  readonly ttlToleranceMs: number;
  readonly limits?: CopyLimits;
}

/**
 * Compares one key on both servers (the same database selected on each): type, value (chunk by
 * chunk, so memory stays bounded), TTL within the tolerance. Undefined when equal, else what
 * differs. A key that expired on both sides is equal; one gone on one side only is equal when the
 * other's TTL is within the tolerance (it is about to go too).
 */
export async function compareKey(
  source: Redis,
  target: Redis,
  key: Buffer,
  options: CompareOptions,
): Promise<string | undefined> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const [[sourceType, sourceTtl], [targetType, targetTtl]] = await Promise.all([
    typeAndTtl(source, key),
    typeAndTtl(target, key),
  ]);
  const soon = (ttl: number) => ttl >= 0 && ttl <= options.ttlToleranceMs;
  if (sourceType === 'none' || targetType === 'none') {
    if (sourceType === targetType) return undefined;
    if (sourceType === 'none') return soon(targetTtl) ? undefined : 'on the target, not on the source';
    return soon(sourceTtl) ? undefined : 'missing on the target';
  }
  if (sourceType !== targetType) return `type ${sourceType} on the source, ${targetType} on the target`;
  const ttlDiffers =
    (sourceTtl < 0 || targetTtl < 0) && sourceTtl !== targetTtl
      ? true
      : Math.abs(sourceTtl - targetTtl) > options.ttlToleranceMs;
  if (ttlDiffers)
    return `TTL ${describeTtl(sourceTtl)} on the source, ${describeTtl(targetTtl)} on the target`;
  const difference = await compareValue(source, target, key, sourceType, limits);
  if (difference === undefined) return undefined;
  // Gone meanwhile (expired on both sides): not a difference.
  const [[afterSource], [afterTarget]] = await Promise.all([
    typeAndTtl(source, key),
    typeAndTtl(target, key),
  ]);
  return afterSource === 'none' && afterTarget === 'none' ? undefined : difference;
}

async function typeAndTtl(client: Redis, key: Buffer): Promise<[string, number]> {
  const [type, ttl] = await execAll(client.pipeline().type(key).pttl(key), () => 'TYPE/PTTL');
  return [String(type), Number(ttl)];
}

function describeTtl(ttl: number): string {
  return ttl < 0 ? 'none' : `${ttl} ms`;
}

/** A sorted-set score as the double it is: each engine prints some its own way (0.1, 0.10000000000000001). */
export function scoreValue(score: string): number {
  const lower = score.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(score);
}

async function compareValue(
  source: Redis,
  target: Redis,
  key: Buffer,
  type: string,
  limits: CopyLimits,
): Promise<string | undefined> {
  switch (type) {
    case 'string': {
      const [a, b] = await Promise.all([source.strlen(key), target.strlen(key)]);
      if (a !== b) return `${a} bytes on the source, ${b} on the target`;
      for (let start = 0; start < a; start += limits.chunkBytes) {
        const end = start + limits.chunkBytes - 1;
        const [x, y] = await Promise.all([
          source.getrangeBuffer(key, start, end),
          target.getrangeBuffer(key, start, end),
        ]);
        if (!x.equals(y)) return `the value differs from byte ${start} on`;
      }
      return undefined;
    }
    case 'list': {
      const [a, b] = await Promise.all([source.llen(key), target.llen(key)]);
      if (a !== b) return `${a} elements on the source, ${b} on the target`;
      const sizer = new ChunkSizer(limits, a, await memoryUsage(source, key, limits));
      for (let start = 0; start < a; ) {
        const end = start + sizer.count - 1;
        const [x, y] = await Promise.all([
          source.lrangeBuffer(key, start, end),
          target.lrangeBuffer(key, start, end),
        ]);
        const at = x.findIndex((item, i) => !item.equals(y[i] ?? Buffer.alloc(0)) || y[i] === undefined);
        if (at >= 0 || x.length !== y.length)
          return `element ${start + Math.max(at, 0)} differs (or the order)`;
        if (x.length === 0) break;
        sizer.observe(x.length, replyBytes(x));
        start += x.length;
      }
      return undefined;
    }
    case 'hash':
      return compareScanned(source, target, key, 'HLEN', 'HSCAN', 2, limits, async (items) => {
        const fields = items.filter((_, i) => i % 2 === 0);
        const values = (await target.callBuffer('HMGET', key, ...fields)) as (Buffer | null)[];
        const at = fields.findIndex((_, i) => !values[i]?.equals(items[2 * i + 1] as Buffer));
        return at < 0
          ? undefined
          : `field ${JSON.stringify(fields[at]?.toString('utf8'))} differs or is missing`;
      });
    case 'set':
      return compareScanned(source, target, key, 'SCARD', 'SSCAN', 1, limits, async (items) => {
        const present = (await target.callBuffer('SMISMEMBER', key, ...items)) as number[];
        const at = present.findIndex((found) => found !== 1);
        return at < 0 ? undefined : `member ${JSON.stringify(items[at]?.toString('utf8'))} is missing`;
      });
    case 'zset':
      return compareScanned(source, target, key, 'ZCARD', 'ZSCAN', 2, limits, async (items) => {
        const members = items.filter((_, i) => i % 2 === 0);
        const scores = (await target.callBuffer('ZMSCORE', key, ...members)) as (Buffer | null)[];
        const at = members.findIndex((_, i) => {
          const got = scores[i];
          return (
            got === null ||
            got === undefined ||
            scoreValue(String(got)) !== scoreValue(String(items[2 * i + 1]))
          );
        });
        if (at < 0) return undefined;
        return `member ${JSON.stringify(members[at]?.toString('utf8'))}: score ${String(items[2 * at + 1])} on the source, ${String(scores[at] ?? 'none')} on the target`;
      });
    case 'stream':
      return compareStream(source, target, key, limits);
    default:
      return `type ${type} is not compared`;
  }
}

/**
 * Same size, and every element the source's *SCAN returns is on the target as it is on the source;
 * each SCAN asks for as many elements as fit `limits.chunkBytes`.
 */
async function compareScanned(
  source: Redis,
  target: Redis,
  key: Buffer,
  sizeCommand: string,
  scanCommand: string,
  itemsPerElement: number,
  limits: CopyLimits,
  check: (items: Buffer[]) => Promise<string | undefined>,
): Promise<string | undefined> {
  const [a, b] = await Promise.all([source.call(sizeCommand, key), target.call(sizeCommand, key)]);
  if (Number(a) !== Number(b)) return `${a} elements on the source, ${b} on the target`;
  const sizer = new ChunkSizer(limits, Number(a), await memoryUsage(source, key, limits));
  let cursor = '0';
  do {
    const [next, items] = (await source.callBuffer(scanCommand, key, cursor, 'COUNT', sizer.count)) as [
      Buffer,
      Buffer[],
    ];
    cursor = String(next);
    if (items.length > 0) {
      sizer.observe(items.length / itemsPerElement, replyBytes(items));
      const difference = await check(items);
      if (difference !== undefined) return difference;
    }
  } while (cursor !== '0');
  return undefined;
}

const STREAM_FIELDS = [
  'length',
  'last-generated-id',
  'max-deleted-entry-id',
  'entries-added',
  'recorded-first-entry-id',
];

/**
 * Entries (ids and fields), the stream's ids and counters, each group (last-delivered-id,
 * entries-read, consumers) and its pending entries (id, consumer, deliveries; not the idle time).
 * A pending entry whose message is gone from the source stream is left out: it cannot be copied.
 */
async function compareStream(
  source: Redis,
  target: Redis,
  key: Buffer,
  limits: CopyLimits,
): Promise<string | undefined> {
  const [a, b] = await Promise.all([
    source.callBuffer('XINFO', 'STREAM', key).then(fieldMap),
    target.callBuffer('XINFO', 'STREAM', key).then(fieldMap),
  ]);
  for (const field of STREAM_FIELDS) {
    if (!a.has(field) || !b.has(field)) continue;
    if (text(a.get(field)) !== text(b.get(field))) {
      return `${field} ${text(a.get(field))} on the source, ${text(b.get(field))} on the target`;
    }
  }
  const sizer = new ChunkSizer(limits, Number(a.get('length') ?? 0), await memoryUsage(source, key, limits));
  let start = '-';
  for (;;) {
    const asked = sizer.count;
    const [x, y] = (await Promise.all([
      source.callBuffer('XRANGE', key, start, '+', 'COUNT', asked),
      target.callBuffer('XRANGE', key, start, '+', 'COUNT', asked),
    ])) as [Buffer, Buffer[]][][];
    if (JSON.stringify(x) !== JSON.stringify(y)) return `the entries from ${start} on differ`;
    const last = x?.[x.length - 1]?.[0];
    if (x === undefined || x.length < asked || last === undefined) break;
    sizer.observe(x.length, replyBytes(x));
    start = `(${last.toString('latin1')}`;
  }
  const [groupsA, groupsB] = (await Promise.all([
    source.callBuffer('XINFO', 'GROUPS', key),
    target.callBuffer('XINFO', 'GROUPS', key),
  ])) as unknown[][];
  const describe = (groups: unknown[] | undefined) =>
    (groups ?? [])
      .map(fieldMap)
      .map((g) => `${text(g.get('name'))} ${text(g.get('last-delivered-id'))} ${text(g.get('entries-read'))}`)
      .sort();
  const [summaryA, summaryB] = [describe(groupsA), describe(groupsB)];
  if (JSON.stringify(summaryA) !== JSON.stringify(summaryB)) {
    return `consumer groups differ: ${summaryA.join(', ') || 'none'} on the source, ${summaryB.join(', ') || 'none'} on the target`;
  }
  for (const group of (groupsA ?? []).map(fieldMap)) {
    const name = group.get('name') as Buffer;
    const consumers = async (client: Redis) =>
      ((await client.callBuffer('XINFO', 'CONSUMERS', key, name)) as unknown[])
        .map((c) => text(fieldMap(c).get('name')))
        .sort();
    const [consumersA, consumersB] = await Promise.all([consumers(source), consumers(target)]);
    if (JSON.stringify(consumersA) !== JSON.stringify(consumersB)) {
      return `group ${text(name)}: consumers ${consumersA.join(', ')} on the source, ${consumersB.join(', ')} on the target`;
    }
    const [pendingA, pendingB] = await Promise.all([
      pendingEntries(source, key, name, limits),
      pendingEntries(target, key, name, limits),
    ]);
    const present = await Promise.all(
      pendingA.map(
        async (entry) =>
          ((await source.callBuffer('XRANGE', key, entry.id, entry.id)) as unknown[]).length > 0,
      ),
    );
    const expected = pendingA
      .filter((_, i) => present[i])
      .map((e) => `${e.id} ${e.consumer} ${e.deliveries}`);
    const actual = pendingB.map((e) => `${e.id} ${e.consumer} ${e.deliveries}`);
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      return `group ${text(name)}: ${expected.length} pending entries expected on the target, ${actual.length} there, or they differ`;
    }
  }
  return undefined;
}

async function pendingEntries(
  client: Redis,
  key: Buffer,
  group: Buffer,
  limits: CopyLimits,
): Promise<{ id: string; consumer: string; deliveries: number }[]> {
  const entries: { id: string; consumer: string; deliveries: number }[] = [];
  let from = '-';
  for (;;) {
    const page = (await client.callBuffer('XPENDING', key, group, from, '+', limits.chunkElements)) as [
      Buffer,
      Buffer,
      number,
      number,
    ][];
    for (const [id, consumer, , deliveries] of page) {
      entries.push({ id: String(id), consumer: String(consumer), deliveries: Number(deliveries) });
    }
    const last = page[page.length - 1]?.[0];
    if (page.length < limits.chunkElements || last === undefined) break;
    from = `(${String(last)}`;
  }
  return entries;
}

/**
 * DBSIZE of each database on both servers, less the keys `ignored` counts there (the health check's
 * counter). Keys with TTLs expire on both sides at the same moments, but each server reclaims them
 * on its own schedule: a difference is asked again a few times over about three seconds before it
 * counts.
 */
export async function compareDbSizes(
  source: Redis,
  target: Redis,
  databases: readonly number[],
  ignored: (client: Redis, db: number) => Promise<number> = async () => 0,
  attempts = 7,
): Promise<{ db: number; source: number; target: number }[]> {
  const size = async (client: Redis, db: number) => {
    const keys = await client.dbsize().catch((error: Error) => {
      throw new CopyError(`DBSIZE: ${error.message}`);
    });
    return keys - (await ignored(client, db));
  };
  let sizes: { db: number; source: number; target: number }[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    sizes = [];
    for (const db of databases) {
      await Promise.all([source.select(db), target.select(db)]);
      const [a, b] = await Promise.all([size(source, db), size(target, db)]);
      sizes.push({ db, source: a, target: b });
    }
    if (sizes.every(({ source: a, target: b }) => a === b) || attempt === attempts) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return sizes;
}

/** A uniform sample of at most `size` items of a stream of unknown length (reservoir sampling). */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;

  constructor(
    private readonly size: number,
    private readonly random: () => number = Math.random,
  ) {}

  add(item: T): void {
    this.seen++;
    if (this.items.length < this.size) this.items.push(item);
    else {
      const slot = Math.floor(this.random() * this.seen);
      if (slot < this.size) this.items[slot] = item;
    }
  }
}
