import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { type BackupResult, runBackup } from '../../lambda/backup';
import { type RdbVerification, verifyRdbFile } from '../../lambda/shared/rdb';
import { parseInfo, RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { backupUser, recorder } from '../lambda/helpers/backup-deps';
import { dumpDatabase, expectSameDataset, type KeyDump } from '../lambda/helpers/dataset';
import { download } from '../lambda/helpers/rdb';
import { requireValkeyChroot, ValkeyProcess } from '../support/valkey';

/**
 * A stage moves to ElastiCache for Valkey by seeding the new replication group from a snapshot
 * that this project's backup took of our Redis 7.0 (RDB format 10, over the replication protocol).
 * Here that exact path runs against the engine it targets: Valkey 8.1 (Debian trixie's, from the
 * chroot `.ci/prepare-machine` makes), which must load it with an identical dataset.
 */

/** kombu's separator in binding members and priority queue names. */
const SEP = '\x06\x16';
const QUEUE = 'celery';
const PRIORITY_QUEUE = `${QUEUE}${SEP}3`;
const DATABASES = 16;
/**
 * time() values as kombu stores them in unacked_index. Most have 17 significant digits; the last
 * one's shortest form is shorter (as happens to some time() values), which Redis 7.0 and Valkey 8.1
 * print differently (see the DEBUG DIGEST tests).
 */
const UNACKED_TIMES = [1764468000.2827034, 1764468001.8143127, 1764468002.0419652, 1764468003.3];
/**
 * The keys whose DEBUG DIGEST-VALUE differs between Redis 7.0 and Valkey 8.1 although their data
 * are identical: sorted sets with a score that Redis 7.0 prints with `%.17g` (0.10000000000000001)
 * and Valkey 8.1 in its shortest form (0.1). Both digest that text, not the double.
 */
const PRINTED_DIFFERENTLY = ['unacked_index', 'zset:fractions'];

/** A task message as kombu's Redis transport LPUSHes it (protocol 2, JSON, base64 body). */
function kombuMessage(n: number, task = 'emails.tasks.send_email'): { tag: string; json: string } {
  const id = randomUUID();
  const tag = randomUUID();
  const args = [[`user${n}@example.com`], { template: 'welcome', attempt: n }, { callbacks: null }];
  const message = {
    body: Buffer.from(JSON.stringify(args)).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task,
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: `('user${n}@example.com',)`,
      kwargsrepr: `{'template': 'welcome', 'attempt': ${n}}`,
      origin: 'gen1234@web-1',
      ignore_result: false,
    },
    properties: {
      correlation_id: id,
      reply_to: '4a4e5f43-2c4a-3c2b-9c53-6b0b0d6f6f4e',
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: QUEUE },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: tag,
    },
  };
  return { tag, json: JSON.stringify(message) };
}

/** A result as Celery's Redis backend stores it (SETEX, result_expires one day). */
function celeryResult(taskId: string): string {
  return JSON.stringify({
    status: 'SUCCESS',
    result: { sent: true, provider_id: randomUUID() },
    traceback: null,
    children: [],
    date_done: '2026-11-30T02:00:00.123456+00:00',
    task_id: taskId,
  });
}

/** The delivery tags of the Celery queue's messages, in the order a worker (BRPOP) takes them. */
async function queueOrder(client: Redis, queue: string): Promise<string[]> {
  const raw = await client.lrange(queue, 0, -1);
  return raw.reverse().map((json) => JSON.parse(json).properties.delivery_tag as string);
}

/**
 * Every type and encoding Redis 7.0 writes, and Celery's real shapes (kombu queue, bindings,
 * unacked, results), with TTLs, in databases 0, 1 and 15. Returns the queue's delivery tags in
 * publish order.
 */
async function fill(db0: Redis, db1: Redis, db15: Redis): Promise<string[]> {
  const now = Date.now();
  const p = db0.pipeline();
  // Strings: shared and plain integers, embstr, raw, > 64 KB (random, and compressible for LZF), binary.
  for (let i = 0; i < 200; i++) p.set(`counter:${i}`, String(i));
  p.set('string:int', '12345');
  p.set('string:negative', '-42');
  p.set('string:int64', '9223372036854775807');
  p.set('string:small', 'hello');
  p.set('string:raw', 'r'.repeat(100));
  p.set('string:random-70k', randomBytes(70 * 1024));
  p.set('string:random-1m', randomBytes(1024 * 1024));
  p.set('string:text-200k', 'Lorem ipsum dolor sit amet. '.repeat(8000));
  p.set('string:binary', Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  p.set(Buffer.from([0, 1, 0xfe, 0xff, 0x0d, 0x0a]), 'a binary key name');
  p.set('string:ttl', 'expires later', 'EX', 3600);
  p.set('string:pexpireat', 'absolute, in ms', 'PXAT', now + 10 * 86_400_000 + 123);
  // Hashes: listpack (small), hashtable (many fields; one value over 64 bytes).
  p.hset('hash:small', { a: '1', b: '2' });
  p.expire('hash:small', 7200);
  p.hset('hash:big', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`field${i}`, `value${i}`])));
  p.hset('hash:long-value', { short: 'x', long: 'v'.repeat(200) });
  // Sets: intset, hashtable.
  p.sadd('set:ints', 1, 2, 3, 42, -7);
  p.sadd('set:big', ...Array.from({ length: 800 }, (_, i) => `member${i}`));
  p.sadd('set:strings', 'alpha', 'beta', 'gamma');
  // Sorted sets: listpack, skiplist; infinite, negative and fractional scores.
  p.zadd('zset:small', '-inf', 'floor', -1.5, 'minus', 2.5, 'two and a half', '+inf', 'ceiling');
  p.zadd('zset:big', ...Array.from({ length: 400 }, (_, i) => [i * 1.5, `z${i}`]).flat());
  p.zadd('zset:fractions', 0.1, 'a tenth', 0.2, 'two tenths', 1 / 3, 'a third');
  p.pexpire('zset:big', 7_200_000);
  // Lists: a plain one and a long one (quicklist of many nodes).
  p.rpush('list:small', 'x', 'y', 'z');
  p.rpush('list:big', ...Array.from({ length: 3000 }, (_, i) => `item-${i}-${'p'.repeat(i % 50)}`));
  // A stream: entries (some deleted), two consumer groups, consumers, pending entries; an empty one.
  for (let i = 0; i < 200; i++) p.xadd('stream:events', '*', 'n', String(i), 'kind', i % 2 ? 'odd' : 'even');
  p.xgroup('CREATE', 'stream:events', 'workers', '0');
  p.xgroup('CREATE', 'stream:events', 'audit', '$');
  p.xreadgroup('GROUP', 'workers', 'worker-1', 'COUNT', 10, 'STREAMS', 'stream:events', '>');
  p.xreadgroup('GROUP', 'workers', 'worker-2', 'COUNT', 5, 'STREAMS', 'stream:events', '>');
  p.xgroup('CREATE', 'stream:empty', 'workers', '$', 'MKSTREAM');
  await p.exec();
  const [first, second] = (await db0.xrange('stream:events', '-', '+', 'COUNT', 30)).map(([id]) => id);
  await db0.xack('stream:events', 'workers', first as string);
  await db0.xdel('stream:events', second as string);

  // Celery's broker (kombu's Redis transport): LPUSH to the queue, workers BRPOP from the other end.
  const tags: string[] = [];
  const celery = db0.pipeline();
  for (let n = 0; n < 300; n++) {
    const { tag, json } = kombuMessage(n);
    tags.push(tag);
    celery.lpush(QUEUE, json);
  }
  celery.lpush(PRIORITY_QUEUE, kombuMessage(1000, 'emails.tasks.send_urgent').json);
  celery.sadd(`_kombu.binding.${QUEUE}`, `${QUEUE}${SEP}${SEP}${QUEUE}`);
  celery.sadd('_kombu.binding.celery.pidbox', `${SEP}${SEP}celery@worker-1.celery.pidbox`);
  celery.sadd('_kombu.binding.celeryev', `worker.#${SEP}${SEP}celeryev.${randomUUID()}`);
  // Reserved by a worker, not yet acknowledged: unacked (tag -> [message, exchange, routing key]),
  // unacked_index (tag -> Python's time() when delivered), and the restore mutex with its
  // visibility timeout.
  for (const [n, deliveredAt] of UNACKED_TIMES.entries()) {
    const { tag, json } = kombuMessage(500 + n);
    celery.hset('unacked', tag, JSON.stringify([JSON.parse(json), '', QUEUE]));
    celery.zadd('unacked_index', deliveredAt, tag);
  }
  celery.set('unacked_mutex', randomUUID(), 'PX', 300_000);
  await celery.exec();

  // Database 1: Celery's result backend and a cache, with TTLs.
  const results = db1.pipeline();
  for (let n = 0; n < 50; n++) {
    const taskId = randomUUID();
    results.set(`celery-task-meta-${taskId}`, celeryResult(taskId), 'EX', 86_400);
  }
  for (let n = 0; n < 20; n++) results.set(`cache:template:${n}`, `<p>template ${n}</p>`, 'EX', 3600 + n);
  results.hset('cache:settings', { locale: 'en', timezone: 'UTC' });
  await results.exec();
  await db15.set('db15:marker', 'the last database');
  return tags;
}

/** `DEBUG DIGEST`: one hash of every database's keys, values and expiry times. */
async function digest(client: Redis): Promise<string> {
  return String(await client.call('DEBUG', 'DIGEST'));
}

/** Every key name of database `db`, as bytes (hex), sorted. */
async function keyNames(client: Redis): Promise<string[]> {
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scanBuffer(cursor, 'COUNT', 1000);
    cursor = String(next);
    names.push(...batch.map((name) => name.toString('hex')));
  } while (cursor !== '0');
  return names.sort();
}

/** `DEBUG DIGEST-VALUE` of each key (names in hex). */
async function valueDigests(client: Redis, names: readonly string[]): Promise<Map<string, string>> {
  const keys = names.map((name) => Buffer.from(name, 'hex'));
  const digests = (await client.callBuffer('DEBUG', 'DIGEST-VALUE', ...keys)) as Buffer[];
  return new Map(names.map((name, i) => [name, String(digests[i])]));
}

/** ZRANGE ... WITHSCORES with the scores as numbers: each engine prints some doubles its own way. */
function scoresAsNumbers(withScores: readonly string[]): (string | number)[] {
  return withScores.map((item, i) => (i % 2 ? Number(item) : item));
}

/** A dump with sorted-set scores as numbers. */
function withNumericScores(dump: Map<string, KeyDump>): Map<string, KeyDump> {
  return new Map(
    [...dump].map(([key, entry]) => [
      key,
      entry.type === 'zset' ? { ...entry, value: scoresAsNumbers(entry.value as string[]) } : entry,
    ]),
  );
}

/** keys and expires of each database with keys, from INFO keyspace (avg_ttl left out: time passes). */
async function keyspace(client: Redis): Promise<Record<string, string>> {
  const fields = parseInfo(await client.info('keyspace'));
  return Object.fromEntries(
    Object.entries(fields).map(([db, value]) => [db, value.replace(/,avg_ttl=.*$/, '')]),
  );
}

describe('a snapshot taken by our backup from Redis 7.0 seeds Valkey 8.1 with the same dataset', () => {
  let dir: string;
  let s3: S3Server | undefined;
  let source: RedisProcess | undefined;
  let valkey: ValkeyProcess | undefined;
  let tags: string[];
  let sourceDigest: string;
  /** Both digests once the sorted sets printed differently are removed from both servers. */
  let comparableDigest: string;
  let result: BackupResult;
  let verification: RdbVerification;
  /** Clients of the source (our Redis 7.0) and of its copy (Valkey 8.1 seeded from the snapshot). */
  const client = (db = 0): Redis => (source as RedisProcess).client('default', { db });
  const copy = (db = 0): Redis => (valkey as ValkeyProcess).client(db);

  beforeAll(async () => {
    requireValkeyChroot(); // first: fails within a second with the command to run
    dir = makeTempDir('valkey-seed');
    // The project's Redis (entrypoint, redis.conf, ACL users), plus DEBUG from loopback for DEBUG
    // DIGEST: the entrypoint takes no arguments, so a redis-server earlier on PATH adds the option
    // to the command line the entrypoint execs (still the same PID, still redis-server).
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const realServer = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'redis-server'),
      `#!/bin/sh\nexec ${realServer} "$@" --enable-debug-command local\n`,
    );
    chmodSync(join(bin, 'redis-server'), 0o755);
    [s3, source] = await Promise.all([
      S3Server.start(),
      RedisProcess.start({ env: { PATH: `${bin}:${process.env.PATH}` } }),
    ]);
    tags = await fill(client(0), client(1), client(15));
    sourceDigest = await digest(client());

    // The snapshot, by the backup core exactly as the Lambda runs it: replication stream ->
    // verifier -> S3 (a real S3-compatible server), then the object as ElastiCache would read it.
    const { logger } = recorder();
    result = await runBackup({
      redis: backupUser(source.port),
      s3: s3.client,
      bucket: s3.bucket,
      prefix: 'redis-backups',
      stage: 'valkey-seed',
      logger,
    });
    const file = join(dir, 'seed.rdb');
    await download(s3.client, s3.bucket, result.key, file);
    verification = await verifyRdbFile(file);

    valkey = await ValkeyProcess.start({ rdbFile: file });
  });

  afterAll(async () => {
    await valkey?.cleanup();
    await source?.cleanup();
    await s3?.cleanup();
    if (dir) removeTempDir(dir);
  });

  it('the snapshot is our backup of Redis 7.0.15: RDB format 10, verified by the project verifier', async () => {
    expect(result).toMatchObject({ redisVersion: '7.0.15', rdbVersion: 10, checksum: 'verified' });
    expect(verification).toEqual({
      bytes: result.bytes,
      rdbVersion: 10,
      crc64: result.crc64,
      checksum: 'verified',
    });
    // Nothing changed on the source while it was taken.
    expect(await digest(client())).toBe(sourceDigest);
  });

  it('the dataset covers every type and encoding that Redis 7.0 writes', async () => {
    const encodings: Record<string, string> = {
      'string:int': 'int',
      'string:small': 'embstr',
      'string:random-1m': 'raw',
      'hash:small': 'listpack',
      'hash:big': 'hashtable',
      'hash:long-value': 'hashtable',
      'set:ints': 'intset',
      'set:big': 'hashtable',
      'zset:small': 'listpack',
      'zset:big': 'skiplist',
      'list:big': 'quicklist',
      [QUEUE]: 'quicklist',
      'stream:events': 'stream',
    };
    const actual: Record<string, string> = {};
    for (const key of Object.keys(encodings)) actual[key] = String(await client().object('ENCODING', key));
    expect(actual).toEqual(encodings);
  });

  it('Valkey is 8.1.x, and loaded the snapshot', async () => {
    const server = parseInfo(await copy().info('server'));
    expect(server.server_name).toBe('valkey');
    expect(server.valkey_version).toMatch(/^8\.1\.\d+$/);
    expect((valkey as ValkeyProcess).log).toMatch(/DB loaded from disk/);
  });

  it('DBSIZE of every database, and the count of keys with a TTL, are identical', async () => {
    const sizes = async (open: (db: number) => Redis) =>
      Promise.all(Array.from({ length: DATABASES }, (_, db) => open(db).dbsize()));
    const expected = await sizes(client);
    expect(expected[0]).toBeGreaterThan(200);
    expect(expected[1]).toBe(71);
    expect(expected[15]).toBe(1);
    expect(await sizes(copy)).toEqual(expected);
    expect(await keyspace(copy())).toEqual(await keyspace(client()));
  });

  it('every key has the same type, value and TTL (databases 0, 1 and 15)', async () => {
    for (const db of [0, 1, 15]) {
      expectSameDataset(
        withNumericScores(await dumpDatabase(copy(db))),
        withNumericScores(await dumpDatabase(client(db))),
        10_000,
      );
    }
  });

  it('DEBUG DIGEST-VALUE is identical for every key, except sorted sets whose scores each engine prints its own way', async () => {
    const differing: string[] = [];
    for (let db = 0; db < DATABASES; db++) {
      const names = await keyNames(client(db));
      expect(await keyNames(copy(db))).toEqual(names);
      if (names.length === 0) continue;
      const expected = await valueDigests(client(db), names);
      const actual = await valueDigests(copy(db), names);
      for (const name of names) {
        if (actual.get(name) !== expected.get(name)) differing.push(Buffer.from(name, 'hex').toString());
      }
    }
    expect(differing.sort()).toEqual(PRINTED_DIFFERENTLY);
    // Those differ only in how the engines print a double: the same members, the same doubles.
    for (const key of PRINTED_DIFFERENTLY) {
      const [redis7, valkey8] = (await Promise.all([
        client().zrange(key, '0', '-1', 'WITHSCORES'),
        copy().zrange(key, '0', '-1', 'WITHSCORES'),
      ])) as [string[], string[]];
      expect(valkey8).not.toEqual(redis7); // e.g. 0.1 and 0.10000000000000001
      expect(scoresAsNumbers(valkey8)).toEqual(scoresAsNumbers(redis7));
    }
  });

  it('DEBUG DIGEST of the whole dataset is identical (once those sorted sets are removed from both)', async () => {
    expect(sourceDigest).toMatch(/^[0-9a-f]{40}$/);
    expect(sourceDigest).not.toBe('0'.repeat(40));
    expect(await digest(copy())).not.toBe(sourceDigest);
    await client().del(...PRINTED_DIFFERENTLY);
    await copy().del(...PRINTED_DIFFERENTLY);
    comparableDigest = await digest(client());
    expect(comparableDigest).not.toBe(sourceDigest);
    expect(await digest(copy())).toBe(comparableDigest);
  });

  it("spot checks: TTLs still set, a binary key name, the Celery queue's messages in order", async () => {
    expect(await copy().ttl('string:ttl')).toBeGreaterThan(3500);
    expect(await copy().pexpiretime('string:pexpireat')).toBe(await client().pexpiretime('string:pexpireat'));
    expect(await copy().pttl('unacked_mutex')).toBeGreaterThan(200_000);
    const results = await copy(1).keys('celery-task-meta-*');
    expect(results).toHaveLength(50);
    expect(await copy(1).ttl(results[0] as string)).toBeGreaterThan(86_000);
    expect(await copy().get(Buffer.from([0, 1, 0xfe, 0xff, 0x0d, 0x0a]))).toBe('a binary key name');

    expect(await queueOrder(copy(), QUEUE)).toEqual(tags);
    expect(await copy().smembers(`_kombu.binding.${QUEUE}`)).toEqual([`${QUEUE}${SEP}${SEP}${QUEUE}`]);
    expect(await copy().llen(PRIORITY_QUEUE)).toBe(1);
    // The message a worker takes next (BRPOP) is the first one published, intact.
    const [, next] = (await copy().brpop(QUEUE, 1)) as [string, string];
    expect(JSON.parse(next).properties.delivery_tag).toBe(tags[0]);
    expect(JSON.parse(next).headers.task).toBe('emails.tasks.send_email');
    await copy().rpush(QUEUE, next); // put back: the dataset is the source's again
    expect(await digest(copy())).toBe(comparableDigest);
  });

  it('the comparison can fail: one changed value changes the digest (and changing it back restores it)', async () => {
    const original = (await copy().hget('hash:big', 'field300')) as string;
    await copy().hset('hash:big', 'field300', `${original}!`);
    expect(await digest(copy())).not.toBe(comparableDigest);
    await copy().hset('hash:big', 'field300', original);
    expect(await digest(copy())).toBe(comparableDigest);
  });
});
