import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * Writes one of every kind of value, in small (listpack/intset) and large (hashtable, quicklist,
 * skiplist) encodings, with and without TTLs, in two databases. `db1` is a client on database 1.
 */
export async function populate(db0: Redis, db1: Redis): Promise<void> {
  const p = db0.pipeline();
  p.set('string:small', 'hello');
  p.set('string:int', '12345');
  p.set('string:binary', randomBytes(300));
  p.set('string:ttl', 'expires later', 'EX', 3600);
  p.hset('hash:small', { a: '1', b: '2' });
  p.hset('hash:big', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`field${i}`, `value${i}`])));
  p.rpush('list:small', 'x', 'y', 'z');
  p.rpush('list:big', ...Array.from({ length: 3000 }, (_, i) => `item-${i}-${'p'.repeat(i % 50)}`));
  p.sadd('set:ints', 1, 2, 3, 42);
  p.sadd('set:big', ...Array.from({ length: 800 }, (_, i) => `member${i}`));
  p.zadd('zset:small', 1, 'one', 2.5, 'two and a half');
  p.zadd('zset:big', ...Array.from({ length: 400 }, (_, i) => [i * 1.5, `z${i}`]).flat());
  p.pexpire('zset:big', 7_200_000);
  for (let i = 0; i < 50; i++) p.xadd('stream:events', '*', 'n', String(i), 'kind', i % 2 ? 'odd' : 'even');
  p.xgroup('CREATE', 'stream:events', 'workers', '0');
  p.xreadgroup('GROUP', 'workers', 'worker-1', 'COUNT', 10, 'STREAMS', 'stream:events', '>');
  p.expire('hash:small', 600);
  for (let i = 0; i < 200; i++) p.set(`counter:${i}`, String(i));
  await p.exec();
  await db1.set('db1:key', 'in database 1');
  await db1.hset('db1:hash', 'k', 'v');
}

/** Adds `megabytes` of incompressible string values (so the RDB is about that big). */
export async function populateBulk(redis: Redis, megabytes: number, valueKiB = 256): Promise<void> {
  const count = Math.ceil((megabytes * 1024) / valueKiB);
  for (let start = 0; start < count; start += 32) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(count, start + 32); i++)
      p.set(`bulk:${i}`, randomBytes(valueKiB * 1024));
    await p.exec();
  }
}

export interface KeyDump {
  readonly type: string;
  readonly value: unknown;
  /** Remaining TTL in ms, -1 for none. */
  readonly pttl: number;
}

/** Every key of one database with its type, value (type-aware) and TTL. */
export async function dumpDatabase(redis: Redis): Promise<Map<string, KeyDump>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  keys.sort();
  const result = new Map<string, KeyDump>();
  for (const key of keys) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    let value: unknown;
    switch (type) {
      case 'string':
        value = (await redis.getBuffer(key))?.toString('base64');
        break;
      case 'hash':
        value = sortedEntries(await redis.hgetall(key));
        break;
      case 'list':
        value = await redis.lrange(key, 0, -1);
        break;
      case 'set':
        value = (await redis.smembers(key)).sort();
        break;
      case 'zset':
        value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
        break;
      case 'stream':
        value = {
          entries: await redis.xrange(key, '-', '+'),
          groups: await redis.xinfo('GROUPS', key),
          // [id, consumer, idle ms, deliveries]: idle time passes, so it is left out.
          pending: ((await redis.call('XPENDING', key, 'workers', '-', '+', '100')) as unknown[][]).map(
            ([id, consumer, , deliveries]) => [id, consumer, deliveries],
          ),
        };
        break;
      default:
        value = `unsupported type ${type}`;
    }
    result.set(key, { type, value, pttl });
  }
  return result;
}

/**
 * Asserts two dumps hold the same keys, types and values; TTLs must both be absent, or both
 * present and within `ttlToleranceMs` (time passes between the backup and the check).
 */
export function expectSameDataset(
  actual: Map<string, KeyDump>,
  expected: Map<string, KeyDump>,
  ttlToleranceMs = 120_000,
): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [key, want] of expected) {
    const got = actual.get(key) as KeyDump;
    expect({ key, type: got.type, value: got.value }).toEqual({ key, type: want.type, value: want.value });
    if (want.pttl < 0) expect({ key, pttl: got.pttl }).toEqual({ key, pttl: want.pttl });
    else {
      expect(got.pttl).toBeGreaterThan(0);
      expect(Math.abs(got.pttl - want.pttl)).toBeLessThan(ttlToleranceMs);
    }
  }
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
