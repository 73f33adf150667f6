import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { replyBytes } from '../../ops/copy/chunks';
import { moreRelevant } from '../../ops/copy/connection';
import { copyKeys, DEFAULT_LIMITS, printableKey } from '../../ops/copy/keys';
import { type Survey, unsupportedTypesMessage } from '../../ops/copy/plan';
import { describeKeyProgress } from '../../ops/copy/progress';
import { compareKey, Reservoir, scoreValue } from '../../ops/copy/verify';
import { freePort } from '../../ops/local/ports';
import { PASSWORDS, parseInfo, REPO_ROOT, RedisProcess, sleep } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { type CliResult, runOps } from '../support/ops-cli';
import { makeCertificates } from '../support/tls';
import { requireValkeyChroot, VALKEY_CHROOT, ValkeyProcess } from '../support/valkey';

/**
 * `ops copy-data`: the way back from ElastiCache for Valkey 8.1 to our Redis 7.0.15, which cannot
 * load Valkey's RDB (format 11). Real servers on both sides: the source is valkey-server 8.1 from
 * the Debian trixie chroot, the target our Redis started as the stage starts it (entrypoint,
 * redis.conf, ACL users); the CLI runs as a separate process, as an operator runs it.
 */

const APP_PASSWORD = 'valkey-app-password-0123456789';
/** kombu's separator in binding members and priority queue names. */
const SEP = '\x06\x16';
const DATABASES = 16;
/** time() values as kombu stores them in unacked_index (Valkey prints the shortest form). */
const UNACKED_TIMES = [1764460800.123456, 1764468000.2827034, 1764468001.8143127, 1764468003.3];
/** The copy's chunk size: values above it take the chunked paths. */
const CHUNK = DEFAULT_LIMITS.chunkElements;

/** The id of the pending entry whose message fill() deletes. */
let deletedPendingId: string;

/** RESP2 clients: every reply is the server's own text (no client-side doubles). */
const RESP2 = { protocol: 2 } as const;

/** The app user on Valkey, as ElastiCache's user group has it: every key, channel and command. */
async function addAppUser(client: Redis): Promise<void> {
  await client.call('ACL', 'SETUSER', 'app', 'on', `>${APP_PASSWORD}`, '~*', '&*', '+@all');
}

/** A task message as kombu's Redis transport LPUSHes it (trimmed to what identifies it). */
function kombuMessage(n: number): { tag: string; json: string } {
  const tag = randomUUID();
  const id = randomUUID();
  const message = {
    body: Buffer.from(JSON.stringify([[`user${n}@example.com`], {}, {}])).toString('base64'),
    'content-type': 'application/json',
    headers: { lang: 'py', task: 'emails.tasks.send_email', id, retries: 0 },
    properties: {
      correlation_id: id,
      delivery_tag: tag,
      delivery_info: { exchange: '', routing_key: 'celery' },
    },
  };
  return { tag, json: JSON.stringify(message) };
}

/**
 * Every type, in small and large encodings (large ones above the copy's chunk size), binary keys
 * and values, Celery's shapes, streams with consumer groups and pending entries, TTLs, in databases
 * 0, 1, 5 and 15. Returns the Celery queue's delivery tags in the order a worker takes them.
 */
async function fill(open: (db: number) => Redis): Promise<string[]> {
  const db0 = open(0);
  const now = Date.now();
  const p = db0.pipeline();
  p.set('string:small', 'hello');
  p.set('string:int', '12345');
  p.set('string:empty', '');
  p.set('string:binary', Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  p.set(Buffer.from([0, 1, 0xfe, 0xff, 0x0d, 0x0a]), Buffer.from([0xff, 0, 0x80]));
  p.set('string:large', randomBytes(3 * 1024 * 1024 + 17)); // GETRANGE in chunks
  p.set('string:ttl', 'expires later', 'EX', 3600);
  p.set('string:pxat', 'absolute, in ms', 'PXAT', now + 10 * 86_400_000 + 123);
  p.rpush('list:small', 'x', 'y', 'z');
  p.rpush(
    'list:large',
    ...Array.from({ length: 2 * CHUNK + 123 }, (_, i) => Buffer.from(`item-${i}-\x00\xff`, 'latin1')),
  );
  p.hset('hash:small', { a: '1', b: '2' });
  p.pexpire('hash:small', 7_200_000);
  p.hset(
    'hash:large',
    Object.fromEntries(Array.from({ length: 3 * CHUNK + 7 }, (_, i) => [`field${i}`, `value${i}`])),
  );
  p.hset('hash:binary', Buffer.from([0xc3, 0x28]), Buffer.from([0, 0xfe]));
  p.sadd('set:ints', 1, 2, 3, 42, -7);
  p.sadd('set:large', ...Array.from({ length: 2 * CHUNK + 5 }, (_, i) => `member${i}`));
  p.zadd('zset:small', '-inf', 'floor', -1.5, 'minus', 2.5, 'two and a half', '+inf', 'ceiling');
  p.zadd(
    'zset:fractions',
    0.1,
    'a tenth',
    0.2,
    'two tenths',
    1 / 3,
    'a third',
    1e-300,
    'tiny',
    2 ** 53 + 2,
    'big',
  );
  p.zadd('zset:large', ...Array.from({ length: 2 * CHUNK + 11 }, (_, i) => [i / 7, `z${i}`]).flat());
  p.pexpire('zset:large', 5_400_000);
  // Streams: many entries (XRANGE in pages), two deleted, groups with pending entries, a consumer
  // with none; an empty stream with a group; an empty one without; one with a TTL.
  for (let i = 0; i < CHUNK + 50; i++)
    p.xadd('stream:events', '*', 'n', String(i), 'bin', Buffer.from([i % 256, 0]));
  p.xgroup('CREATE', 'stream:events', 'workers', '0');
  p.xgroup('CREATE', 'stream:events', 'audit', '$');
  p.xreadgroup('GROUP', 'workers', 'worker-1', 'COUNT', 10, 'STREAMS', 'stream:events', '>');
  p.xreadgroup('GROUP', 'workers', 'worker-2', 'COUNT', 5, 'STREAMS', 'stream:events', '>');
  p.xreadgroup('GROUP', 'workers', 'worker-2', 'COUNT', 3, 'STREAMS', 'stream:events', '0'); // deliveries 2
  p.xgroup('CREATECONSUMER', 'stream:events', 'audit', 'idle-consumer');
  p.xgroup('CREATE', 'stream:empty-with-group', 'workers', '$', 'MKSTREAM');
  p.xadd('stream:emptied', '5-1', 'gone', 'soon');
  p.xdel('stream:emptied', '5-1');
  p.xadd('stream:ttl', '*', 'k', 'v');
  p.expire('stream:ttl', 9000);
  await p.exec();
  const ids = (await db0.xrange('stream:events', '-', '+', 'COUNT', 40)).map(([id]) => id);
  await db0.xack('stream:events', 'workers', ids[0] as string);
  await db0.xdel('stream:events', ids[1] as string, ids[30] as string); // ids[1]: pending, now deleted
  deletedPendingId = ids[1] as string;
  // Celery: LPUSH to the queue, a worker BRPOPs from the other end; bindings, unacked.
  const tags: string[] = [];
  const celery = db0.pipeline();
  for (let n = 0; n < 300; n++) {
    const { tag, json } = kombuMessage(n);
    tags.push(tag);
    celery.lpush('celery', json);
  }
  celery.lpush(`celery${SEP}3`, kombuMessage(1000).json);
  celery.sadd('_kombu.binding.celery', `celery${SEP}${SEP}celery`);
  celery.sadd('_kombu.binding.celeryev', `worker.#${SEP}${SEP}celeryev.${randomUUID()}`);
  for (const [n, deliveredAt] of UNACKED_TIMES.entries()) {
    const { tag, json } = kombuMessage(500 + n);
    celery.hset('unacked', tag, JSON.stringify([JSON.parse(json), '', 'celery']));
    celery.zadd('unacked_index', deliveredAt, tag);
  }
  celery.set('unacked_mutex', randomUUID(), 'PX', 300_000);
  await celery.exec();
  // Database 1: Celery's results and a cache, with TTLs; 5: a few keys; 15: the last one.
  const results = open(1).pipeline();
  for (let n = 0; n < 50; n++)
    results.set(`celery-task-meta-${randomUUID()}`, '{"status":"SUCCESS"}', 'EX', 86_400);
  for (let n = 0; n < 20; n++) results.set(`cache:template:${n}`, `<p>${n}</p>`, 'EX', 3600 + n);
  results.hset('cache:settings', { locale: 'en', timezone: 'UTC' });
  await results.exec();
  await open(5).set('db5:counter', '7');
  await open(5).rpush('db5:list', 'a', 'b');
  await open(15).set('db15:marker', 'the last database');
  return tags; // in the order a worker (BRPOP, from the other end) takes them
}

interface KeyState {
  readonly type: string;
  readonly value: unknown;
  /** Sorted sets: the scores as each server prints them (compared as doubles). */
  readonly scores?: string[];
  readonly expireAt: number;
}

/** Every key of the selected database, binary-safe: names and values in hex, streams in full. */
async function dump(client: Redis): Promise<Map<string, KeyState>> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scanBuffer(cursor, 'COUNT', 1000);
    cursor = String(next);
    keys.push(...batch);
  } while (cursor !== '0');
  const hex = (item: unknown) => (item as Buffer).toString('hex');
  const scanAll = async (command: string, key: Buffer) => {
    const items: Buffer[] = [];
    let at = '0';
    do {
      const [next, batch] = (await client.callBuffer(command, key, at, 'COUNT', 1000)) as [Buffer, Buffer[]];
      at = String(next);
      items.push(...batch);
    } while (at !== '0');
    return items;
  };
  const state = new Map<string, KeyState>();
  for (const key of keys.sort(Buffer.compare)) {
    const type = await client.type(key);
    const expireAt = await client.pexpiretime(key);
    let value: unknown;
    let scores: string[] | undefined;
    if (type === 'string') value = hex(await client.getBuffer(key));
    else if (type === 'list') value = (await client.lrangeBuffer(key, 0, -1)).map(hex);
    else if (type === 'hash') {
      const items = await scanAll('HSCAN', key);
      const pairs = new Map<string, string>();
      for (let i = 0; i < items.length; i += 2) pairs.set(hex(items[i]), hex(items[i + 1]));
      value = [...pairs].sort();
    } else if (type === 'set') value = [...new Set((await scanAll('SSCAN', key)).map(hex))].sort();
    else if (type === 'zset') {
      const items = (await client.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as Buffer[];
      value = items.filter((_, i) => i % 2 === 0).map(hex);
      scores = items.filter((_, i) => i % 2 === 1).map(String);
    } else if (type === 'stream') {
      const info = (await client.call('XINFO', 'STREAM', key)) as unknown[];
      const field = (name: string) => info[info.indexOf(name) + 1];
      const groups = ((await client.call('XINFO', 'GROUPS', key)) as unknown[][]).map((group) => {
        const get = (name: string) => group[group.indexOf(name) + 1];
        return {
          name: get('name'),
          lastDelivered: get('last-delivered-id'),
          entriesRead: get('entries-read'),
        };
      });
      const pending: unknown[] = [];
      const consumers: unknown[] = [];
      for (const { name } of groups) {
        const rows = (await client.call('XPENDING', key, String(name), '-', '+', 10_000)) as unknown[][];
        // A pending entry whose message was deleted (XDEL) cannot be copied: left out on both sides
        // here, checked on its own in the streams test.
        const present: unknown[][] = [];
        for (const row of rows) {
          if (((await client.xrange(key, String(row[0]), String(row[0]))) as unknown[]).length > 0)
            present.push(row);
        }
        pending.push(present.map(([id, consumer, , deliveries]) => [name, id, consumer, deliveries]));
        const list = (await client.call('XINFO', 'CONSUMERS', key, String(name))) as unknown[][];
        consumers.push(list.map((consumer) => consumer[consumer.indexOf('name') + 1]).sort());
      }
      value = {
        entries: ((await client.callBuffer('XRANGE', key, '-', '+')) as [Buffer, Buffer[]][]).map(
          ([id, fields]) => [String(id), fields.map(hex)],
        ),
        length: field('length'),
        lastGenerated: field('last-generated-id'),
        maxDeleted: field('max-deleted-entry-id'),
        entriesAdded: field('entries-added'),
        firstRecorded: field('recorded-first-entry-id'),
        groups,
        consumers,
        pending,
      };
    } else value = `unexpected type ${type}`;
    state.set(key.toString('hex'), { type, value, ...(scores && { scores }), expireAt });
  }
  return state;
}

/**
 * The target holds exactly the source's keys: same names, types, values (scores as the same
 * doubles), the same absolute expiry times, and every PTTL within `toleranceMs` of the source's.
 */
async function expectSameData(
  source: Redis,
  target: Redis,
  { toleranceMs = 2_000, ignore = [] as string[] } = {},
): Promise<number> {
  const [want, got] = await Promise.all([dump(source), dump(target)]);
  for (const key of ignore) {
    want.delete(Buffer.from(key).toString('hex'));
    got.delete(Buffer.from(key).toString('hex'));
  }
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [key, expected] of want) {
    const actual = got.get(key) as KeyState;
    const name = Buffer.from(key, 'hex').toString('latin1');
    expect({ name, type: actual.type, value: actual.value, expireAt: actual.expireAt }).toEqual({
      name,
      type: expected.type,
      value: expected.value,
      expireAt: expected.expireAt,
    });
    if (expected.scores) {
      expect({ name, scores: actual.scores?.map(scoreValue) }).toEqual({
        name,
        scores: expected.scores.map(scoreValue),
      });
    }
    const keyBuffer = Buffer.from(key, 'hex');
    const [a, b] = await Promise.all([source.pttl(keyBuffer), target.pttl(keyBuffer)]);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(toleranceMs);
  }
  return want.size;
}

/**
 * The CLI on a terminal of its own (util-linux `script` gives it a pseudo-terminal), typing
 * `input`; stdout and stderr come back mixed, as on a screen.
 */
function onTerminal(
  args: readonly string[],
  env: Record<string, string>,
  input: string,
  beforeAnswer: () => Promise<unknown> = async () => {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const command = ['node', 'ops/launch.cjs', 'ops/cli.ts', ...args].join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const record = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', record);
    child.stderr.on('data', record);
    // The answer once the question is on screen.
    const answer = setInterval(() => {
      if (output.includes('Type yes to go on')) {
        clearInterval(answer);
        beforeAnswer().then(() => child.stdin.write(input), reject);
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(answer);
      // Each line as the screen shows it: escape sequences out, a carriage return starts a line.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
      const screen = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r\n?/g, '\n');
      resolve({ code, output: screen });
    });
  });
}

/**
 * The largest reply to each command (by name), and the most bytes one pipeline brought back, on
 * `client` (every command, pipelined or not, goes through its sendCommand).
 */
function measureReplies(client: Redis): { largest: Map<string, number>; largestPipeline: number } {
  const measured = { largest: new Map<string, number>(), largestPipeline: 0 };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]) => {
    command.promise.then(
      (reply) => {
        const name = command.name.toUpperCase();
        measured.largest.set(name, Math.max(measured.largest.get(name) ?? 0, replyBytes(reply)));
      },
      () => {},
    );
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  const pipeline = client.pipeline.bind(client);
  client.pipeline = ((...args: Parameters<typeof client.pipeline>) => {
    const made = pipeline(...args);
    const exec = made.exec.bind(made);
    made.exec = (async () => {
      const replies = await exec();
      const bytes = (replies ?? []).reduce((sum, [, reply]) => sum + replyBytes(reply), 0);
      measured.largestPipeline = Math.max(measured.largestPipeline, bytes);
      return replies;
    }) as typeof made.exec;
    return made;
  }) as typeof client.pipeline;
  return measured;
}

/**
 * A TCP relay to 127.0.0.1:`port` on a port of its own; `cut()` resets every connection through
 * it and refuses new ones (a network failure on demand).
 */
async function tcpRelay(port: number): Promise<{ port: number; cut: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      server.close();
      for (const socket of sockets) socket.resetAndDestroy();
    },
  };
}

function copyArgs(from: string, to: string, ...more: string[]): string[] {
  return ['copy-data', '--from', from, '--to', to, ...more];
}

describe('ops copy-data: from Valkey 8.1 (ElastiCache’s engine) to our Redis 7.0.15', () => {
  let valkey: ValkeyProcess;
  let redis: RedisProcess;
  let tags: string[];
  let result: CliResult;
  let sourceDigest: string;
  let from: string;
  let to: string;
  const env = { REDIS_FROM_PASSWORD: APP_PASSWORD, REDIS_TO_PASSWORD: PASSWORDS.default };
  const source = (db = 0) => valkey.client(db, RESP2);
  const target = (db = 0) => redis.client('default', { ...RESP2, db });

  beforeAll(async () => {
    requireValkeyChroot();
    [valkey, redis] = await Promise.all([ValkeyProcess.start(), RedisProcess.start()]);
    await addAppUser(source());
    tags = await fill(source);
    // The container's health check INCRs "ping" in db0 (a new Fargate Redis is never quite empty);
    // the source has the counter of its own Fargate days, carried by the seed.
    for (let i = 0; i < 3; i++) await target().incr('ping');
    await source().set('ping', '41');
    sourceDigest = String(await source().call('DEBUG', 'DIGEST'));
    from = `redis://app@127.0.0.1:${valkey.port}`;
    to = `redis://default@127.0.0.1:${redis.port}`;
    result = await runOps(copyArgs(from, to, '--yes'), env);
  }, 120_000);
  afterAll(async () => {
    await valkey?.cleanup();
    await redis?.cleanup();
  });

  it('the servers are what the stage runs: Valkey 8.1 as the source, Redis 7.0.15 as the target', async () => {
    expect(parseInfo(await source().info('server')).valkey_version).toMatch(/^8\.1\.\d+$/);
    expect(parseInfo(await target().info('server')).redis_version).toBe('7.0.15');
  });

  it('exits 0 with what it copied per database and the verification, passwords never printed', () => {
    expect(result.stderr).not.toMatch(/NOT verified|warning: the password/);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^copied Valkey 8\.1\.\d+ at .*127\.0\.0\.1:\d+ -> Redis 7\.0\.15 at default@127\.0\.0\.1:\d+ in [\d.]+ s$/,
    );
    expect(result.stdout).toMatch(
      /^ {2}db0: \d+ keys copied, not the health check's counter "ping" \(the target keeps its own\)$/m,
    );
    expect(result.stdout).toMatch(/^ {2}db1: 71 keys copied$/m);
    expect(result.stdout).toMatch(/^ {2}db5: 2 keys copied$/m);
    expect(result.stdout).toMatch(/^ {2}db15: 1 key copied$/m);
    expect(result.stdout).toMatch(
      /^verified: DBSIZE equal \(db0 \d+, db1 71, db5 2, db15 1\); \d+ keys compared \(all\): type, value, TTL within 2000 ms$/m,
    );
    for (const secret of [APP_PASSWORD, PASSWORDS.default])
      expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('every key of every database is on the target as on the source: type, value, score, expiry time', async () => {
    let keys = 0;
    for (let db = 0; db < DATABASES; db++) {
      expect({ db, size: await target(db).dbsize() }).toEqual({ db, size: await source(db).dbsize() });
      keys += await expectSameData(source(db), target(db), { ignore: db === 0 ? ['ping'] : [] });
    }
    expect(keys).toBeGreaterThan(100);
    expect(result.stdout).toContain(`db0: ${(await source(0).dbsize()) - 1} keys copied`);
    // The health check's counter: the target's own, untouched.
    expect(await target().get('ping')).toBe('3');
  });

  it('binary keys and values, the empty string and the large values are byte for byte', async () => {
    const key = Buffer.from([0, 1, 0xfe, 0xff, 0x0d, 0x0a]);
    expect(await target().getBuffer(key)).toEqual(Buffer.from([0xff, 0, 0x80]));
    expect(await target().get('string:empty')).toBe('');
    expect(await target().exists('string:empty')).toBe(1);
    expect(
      (await target().getBuffer('string:large'))?.equals(
        (await source().getBuffer('string:large')) as Buffer,
      ),
    ).toBe(true);
    expect(await target().hlen('hash:large')).toBe(3 * CHUNK + 7);
    expect(await target().llen('list:large')).toBe(2 * CHUNK + 123);
  });

  it("Celery's queue keeps its order; unacked, unacked_index (exact scores), bindings and the mutex are there", async () => {
    const order = (await target().lrange('celery', 0, -1))
      .reverse()
      .map((json) => JSON.parse(json).properties.delivery_tag);
    expect(order).toEqual(tags);
    expect(await target().llen(`celery${SEP}3`)).toBe(1);
    expect(await target().smembers('_kombu.binding.celery')).toEqual([`celery${SEP}${SEP}celery`]);
    expect(await target().hlen('unacked')).toBe(UNACKED_TIMES.length);
    const scores = (await target().call('ZRANGE', 'unacked_index', '0', '-1', 'WITHSCORES')) as string[];
    const times = scores.filter((_, i) => i % 2 === 1).map(Number);
    expect(times).toEqual(UNACKED_TIMES); // each the same double kombu wrote, not a rounded one
    expect(
      await target().zscore('unacked_index', (await source().zrange('unacked_index', '0', '0'))[0] as string),
    ).toBe('1764460800.123456');
    expect(await target().pttl('unacked_mutex')).toBeGreaterThan(200_000);
  });

  it('scores each engine prints its own way are the same doubles (0.1 on Valkey, 0.10000000000000001 on Redis 7.0)', async () => {
    expect(await source().zscore('zset:fractions', 'a tenth')).toBe('0.1');
    expect(await target().zscore('zset:fractions', 'a tenth')).toBe('0.10000000000000001');
    for (const member of ['a tenth', 'two tenths', 'a third', 'tiny', 'big']) {
      const [a, b] = await Promise.all([
        source().zscore('zset:fractions', member),
        target().zscore('zset:fractions', member),
      ]);
      expect({ member, score: Number(b) }).toEqual({ member, score: Number(a) });
    }
    expect(await target().zrange('zset:small', '0', '-1', 'WITHSCORES')).toEqual([
      'floor',
      '-inf',
      'minus',
      '-1.5',
      'two and a half',
      '2.5',
      'ceiling',
      'inf',
    ]);
  });

  it('streams: ids, last id, entries-added, groups, consumers and pending entries; the pending entry of a deleted message is reported', async () => {
    const info = async (client: Redis, key: string) => {
      const reply = (await client.call('XINFO', 'STREAM', key)) as unknown[];
      return Object.fromEntries(
        ['length', 'last-generated-id', 'max-deleted-entry-id', 'entries-added'].map((f) => [
          f,
          reply[reply.indexOf(f) + 1],
        ]),
      );
    };
    for (const key of ['stream:events', 'stream:empty-with-group', 'stream:emptied', 'stream:ttl']) {
      expect({ key, info: await info(target(), key) }).toEqual({ key, info: await info(source(), key) });
    }
    expect(await info(target(), 'stream:emptied')).toMatchObject({ length: 0, 'last-generated-id': '5-1' });
    const pending = (client: Redis) =>
      client.call('XPENDING', 'stream:events', 'workers', '-', '+', 100) as Promise<unknown[][]>;
    const onSource = await pending(source());
    const onTarget = await pending(target());
    expect(onSource).toHaveLength(14);
    expect(onSource.map(([id]) => id).filter((id) => !onTarget.some(([other]) => other === id))).toEqual([
      deletedPendingId,
    ]);
    // 15 delivered, 1 acknowledged, 1 deleted: 13 pending on the target with their delivery counts.
    expect(onTarget).toHaveLength(13);
    expect(onTarget.filter(([, , , deliveries]) => deliveries === 2)).toHaveLength(3);
    expect(result.stdout).toMatch(
      /^ {2}streams: 4, with 3 consumer groups and 3 consumers; 13 pending entries recreated/m,
    );
    expect(result.stdout).toContain(
      'warning: stream "stream:events", group "workers": 1 pending entry not recreated: the message is no longer in the stream',
    );
    // A worker on the target goes on where the group stopped: the first entry not yet delivered.
    const group = ((await source().call('XINFO', 'GROUPS', 'stream:events')) as unknown[][]).find(
      (g) => g[1] === 'workers',
    );
    const lastDelivered = String(group?.[group.indexOf('last-delivered-id') + 1]);
    const [[expectedNext]] = (await source().xrange(
      'stream:events',
      `(${lastDelivered}`,
      '+',
      'COUNT',
      1,
    )) as [string, string[]][] as [[string, string[]]];
    const read = (await target().xreadgroup(
      'GROUP',
      'workers',
      'worker-3',
      'COUNT',
      1,
      'STREAMS',
      'stream:events',
      '>',
    )) as [string, [string, string[]][]][];
    expect(read[0]?.[1][0]?.[0]).toBe(expectedNext);
  });

  it('TTLs survive as absolute expiry times; keys without one have none', async () => {
    expect(await target().pexpiretime('string:pxat')).toBe(await source().pexpiretime('string:pxat'));
    expect(await target().ttl('string:ttl')).toBeGreaterThan(3500);
    expect(await target().pttl('zset:large')).toBeGreaterThan(5_000_000);
    expect(await target().ttl('stream:ttl')).toBeGreaterThan(8900);
    expect(await target().ttl('list:large')).toBe(-1);
    const results = await target(1).keys('celery-task-meta-*');
    expect(results).toHaveLength(50);
    expect(await target(1).ttl(results[0] as string)).toBeGreaterThan(86_000);
  });

  it('the source is left as it was (DEBUG DIGEST)', async () => {
    expect(String(await source().call('DEBUG', 'DIGEST'))).toBe(sourceDigest);
  });

  it('a second run is refused: the target now holds data; nothing on it changes', async () => {
    const before = await dump(target(0));
    await target(0).set('written-after-the-copy', 'keep me');
    const again = await runOps(copyArgs(from, to, '--yes'), env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^ops copy-data: the target is not empty \(db0 \d+ keys, db1 71 keys, db5 2 keys, db15 1 key\): copy-data never writes over data, and nothing was written\. If that data may go, empty the target by hand \(FLUSHALL\)/m,
    );
    expect(again.stdout).toBe('');
    await target(0).del('written-after-the-copy');
    expect(await dump(target(0))).toEqual(before);
    // --db of a database that holds data is refused the same way.
    const one = await runOps(copyArgs(from, to, '--db', '1', '--yes'), env);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/the target is not empty \(db1 71 keys\).*FLUSHDB in db1/);
  });

  it('a Redis copied onto itself is refused, even under another name (localhost, 127.0.0.1): run_id', async () => {
    const same = await runOps(copyArgs(from, `redis://app@localhost:${valkey.port}`, '--yes'), {
      ...env,
      REDIS_TO_PASSWORD: APP_PASSWORD,
    });
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(
      /^ops copy-data: --from and --to reach the same server \(INFO server run_id [0-9a-f]{40}\)/m,
    );
    expect(String(await source().call('DEBUG', 'DIGEST'))).toBe(sourceDigest);
  });
});

describe('ops copy-data: refusals and failures leave the target untouched', () => {
  let valkey: ValkeyProcess;
  let redis: RedisProcess;
  let from: string;
  let to: string;
  const env = { REDIS_FROM_PASSWORD: APP_PASSWORD, REDIS_TO_PASSWORD: PASSWORDS.default };
  const source = (db = 0) => valkey.client(db, RESP2);
  const target = (db = 0) => redis.client('default', { ...RESP2, db });
  const targetKeys = async () => parseInfo(await target().info('keyspace'));

  beforeAll(async () => {
    requireValkeyChroot();
    [valkey, redis] = await Promise.all([
      ValkeyProcess.start({ args: ['--databases', '32'] }),
      RedisProcess.start(),
    ]);
    await addAppUser(source());
    await source(0).set('a', '1');
    await source(0).rpush('queue', 'x', 'y');
    await source(1).set('b', '2');
    await source(2).hset('h', 'f', 'v');
    from = `redis://app@127.0.0.1:${valkey.port}`;
    to = `redis://default@127.0.0.1:${redis.port}`;
  }, 60_000);
  afterAll(async () => {
    await valkey?.cleanup();
    await redis?.cleanup();
  });
  afterEach(async () => {
    await target().call('FLUSHALL');
  });

  it.each([
    ['the target', { REDIS_TO_PASSWORD: 'wrong-target-password-0123456789' }, 'target', 'REDIS_TO_PASSWORD'],
    [
      'the source',
      { REDIS_FROM_PASSWORD: 'wrong-source-password-0123456789' },
      'source',
      'REDIS_FROM_PASSWORD',
    ],
  ])(
    'a wrong password for %s: exit 1, WRONGPASS, the password never echoed, nothing written',
    async (_, wrong, side, variable) => {
      const run = await runOps(copyArgs(from, to, '--yes'), { ...env, ...wrong });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `^ops copy-data: the ${side} .*127\\.0\\.0\\.1:\\d+ refused the credentials \\(check ${variable} and the URL's user\\): WRONGPASS`,
          'm',
        ),
      );
      expect(run.stderr).toContain('Nothing was written.');
      expect(run.stdout + run.stderr).not.toContain(Object.values(wrong)[0]);
      expect(await targetKeys()).toEqual({});
    },
  );

  it('a URL with a user but no password variable is a usage error (exit 2) before connecting, the URL not echoed', async () => {
    const run = await runOps(copyArgs('redis://s3cr3t-looking-user@127.0.0.1:1', to, '--yes'), {
      REDIS_TO_PASSWORD: PASSWORDS.default,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'ops copy-data: --from names a user but no password is set: export REDIS_FROM_PASSWORD=<password>',
    );
    expect(run.stderr).not.toContain('s3cr3t');
  });

  it('without a terminal and without --yes it does not copy (exit 2), and says to add --yes', async () => {
    const run = await runOps(copyArgs(from, to), env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('stdin is not a terminal: add --yes');
    expect(await targetKeys()).toEqual({});
  });

  it('on a terminal it shows what it will copy and asks; anything but yes copies nothing (exit 1)', async () => {
    const run = await onTerminal(copyArgs(from, to), env, 'y\n');
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /^copy-data: Valkey 8\.1\.\d+ at .*127\.0\.0\.1:\d+ -> Redis 7\.0\.15 at default@127\.0\.0\.1:\d+\r?$/m,
    );
    expect(run.output).toMatch(/^ {2}db0: 2 keys \(list 1, string 1\)\r?$/m);
    expect(run.output).toContain('Copy these keys into the target? Type yes to go on: ');
    expect(run.output).toContain('copy-data: not confirmed; nothing was written');
    expect(await targetKeys()).toEqual({});
    const yes = await onTerminal(copyArgs(from, to), env, 'yes\n');
    expect(yes.code).toBe(0);
    expect(yes.output).toMatch(/^verified: DBSIZE equal \(db0 2, db1 1, db2 1\)/m);
  });

  it.each([
    [['--db', '1', '--all-dbs'], 'give --db <n> (one database) or --all-dbs'],
    [['--db', 'one'], "argument 'one' is invalid. expected a whole number, 0 or more."],
    [['--ca-file-from', '/nonexistent.pem'], '--ca-file-from goes with a rediss:// URL'],
  ])('%j is a usage error (exit 2), nothing written', async (more, message) => {
    const run = await runOps(copyArgs(from, to, '--yes', ...more), env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("Run 'npm run -s ops -- help copy-data' for its options and examples.");
    expect(await targetKeys()).toEqual({});
  });

  it('the target is checked again after the question: a key written to it meanwhile stops the copy (exit 1), nothing written', async () => {
    const producer = target(0);
    const run = await onTerminal(copyArgs(from, to), env, 'yes\n', () =>
      producer.lpush('celery', 'a producer already pointed at the target'),
    );
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /^ops copy-data: the target is not empty any more \(db0 1 key\): something wrote to it after the check at the start \(a producer or a Celery worker already pointed at it\?\)\. copy-data never writes over data, and nothing was written\./m,
    );
    expect(await targetKeys()).toEqual({ db0: expect.stringMatching(/^keys=1,/) });
    expect(await target(0).lrange('celery', 0, -1)).toEqual(['a producer already pointed at the target']);
  });

  it('a key a producer writes to the target during the copy is not merged into: reported, NOT verified (exit 1)', async () => {
    // db3 takes a while to copy; meanwhile a producer on the new Redis LPUSHes to the queue of db7
    // and SETs a key there as the source has it.
    const bulk = source(3).pipeline();
    for (let i = 0; i < 20_000; i++) bulk.set(`bulk:${i}`, `v${i}`);
    await bulk.exec();
    await source(7).rpush('celery', ...Array.from({ length: 300 }, (_, i) => `task ${i}`));
    await source(7).set('same', 'as on the source');
    const watch = target(3);
    const producer = target(7);
    let wroteAt = '';
    const run = await runOps(copyArgs(from, to, '--yes'), env, () => {
      void (async () => {
        while ((await watch.dbsize()) === 0) await sleep(2);
        await producer.lpush('celery', 'a new task');
        await producer.set('same', 'as on the source');
        wroteAt = `db3 ${await watch.dbsize()} keys`;
      })();
    });
    await source(3).call('FLUSHDB');
    await source(7).call('FLUSHDB');
    expect(wroteAt).not.toBe('db3 20000 keys');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^ {2}db7: 0 keys copied, 1 on the target already, as on the source \(not written again\), 1 NOT copied \(the target held a key of that name already, different\)$/m,
    );
    expect(run.stdout).not.toMatch(/^verified/m);
    expect(run.stderr).toMatch(
      /^ops copy-data: NOT verified: 1 key of the source not copied: the target held a key of that name already, different \(something wrote to the target during the copy\)$/m,
    );
    expect(run.stderr).toMatch(
      /^ {2}db7 "celery": not copied, the target held it already: 300 elements on the source, 1 on the target$/m,
    );
    expect(run.stderr).toContain('Something wrote to the target during the copy');
    // Not merged: the producer's message alone, no TTL, and no temporary key left anywhere.
    expect(await target(7).lrange('celery', 0, -1)).toEqual(['a new task']);
    for (const db of [0, 3, 7]) expect(await target(db).keys('copy-data:tmp:*')).toEqual([]);
  });

  it.each([
    ['a list', (client: Redis) => client.rpush('ping', 'a', 'b'), 'a list'],
    [
      'a string that is no integer',
      (client: Redis) => client.set('ping', 'PONG'),
      'a string that is no integer',
    ],
  ])('a db0 "ping" that is %s is data: copied like any key, with a warning', async (_, make, described) => {
    await make(source(0));
    const run = await runOps(copyArgs(from, to, '--yes'), env);
    const dumped = await dump(target(0));
    await source(0).del('ping');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `warning: db0 "ping" on the source is ${described}, not the health check's counter: it is copied as data, and the target's container health check (INCR ping) fails on it`,
    );
    expect(run.stdout).toMatch(/^ {2}db0: 3 keys copied$/m);
    expect(run.stdout).toMatch(/^verified: DBSIZE equal \(db0 3, db1 1, db2 1\); 5 keys compared \(all\)/m);
    expect(dumped.has(Buffer.from('ping').toString('hex'))).toBe(true);
  });

  it('a db0 "ping" that is data, where the target keeps its health check counter, is refused (exit 1), nothing written', async () => {
    await source(0).rpush('ping', 'a');
    await target(0).incr('ping');
    await target(0).incr('ping');
    const run = await runOps(copyArgs(from, to, '--yes'), env);
    await source(0).del('ping');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^ops copy-data: db0 "ping" on the source is a list \(data, not a health check counter\), and the target holds its own "ping": the counter its container's health check INCRs\. copy-data never writes over a key, so it cannot copy that one; nothing was written\./m,
    );
    expect(await targetKeys()).toEqual({ db0: expect.stringMatching(/^keys=1,/) });
    expect(await target(0).get('ping')).toBe('2');
  });

  it.each([
    [
      '--from',
      (url: string) => [`${url}/1`, ''],
      '--from names a database (/1): copy-data copies every database that holds keys, or the one --db <n> names (--db 1); give the URL without it',
    ],
    [
      '--to',
      (url: string) => ['', `${url}/0`],
      '--to names a database (/0): copy-data copies every database that holds keys, or the one --db <n> names (--db 0); give the URL without it',
    ],
  ])('a database in the URL of %s is a usage error (exit 2) that names --db', async (_, urls, message) => {
    const [fromUrl, toUrl] = urls(_ === '--from' ? from : to);
    const run = await runOps(copyArgs(fromUrl || from, toUrl || to, '--yes'), env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`ops copy-data: ${message}`);
    expect(await targetKeys()).toEqual({});
  });

  it('every list, hash, set, sorted set and stream is compared in full, however many strings are sampled', async () => {
    // 12000 strings (above the 10000 that are compared in full: a sample of 10000 is compared) and a queue that changes on the
    // target after it was copied: found.
    await source(4).rpush('jobs', 'a', 'b', 'c');
    const bulk = source(5).pipeline();
    for (let i = 0; i < 12_000; i++) bulk.set(`bulk:${i}`, `v${i}`);
    await bulk.exec();
    const watch = target(4);
    const run = await runOps(copyArgs(from, to, '--yes'), env, () => {
      void (async () => {
        while ((await watch.exists('jobs')) === 0) await sleep(2);
        await watch.rpush('jobs', 'pushed on the target');
      })();
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ops copy-data: NOT verified: 1 of \d+ compared keys differ$/m);
    expect(run.stderr).toMatch(/^ {2}db4 "jobs": 3 elements on the source, 4 on the target$/m);
    // Without the change: verified, with what was compared.
    await target().call('FLUSHALL');
    const again = await runOps(copyArgs(from, to, '--yes'), env);
    await source(4).call('FLUSHDB');
    await source(5).call('FLUSHDB');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^verified: DBSIZE equal \(db0 2, db1 1, db2 1, db4 1, db5 12000\); 10003 keys compared \(every list, hash, set, sorted set and stream: 3; strings: a uniform sample of 10000 of 12002\): type, value, TTL within 2000 ms$/m,
    );
  }, 120_000);

  it('a second Ctrl-C exits at once, even while a reply is awaited', async () => {
    const bulk = source(6).pipeline();
    for (let i = 0; i < 100_000; i++) bulk.set(`bulk:${i}`, `v${i}`);
    await bulk.exec();
    const watch = target(6);
    const sleeper = source();
    let secondAt = 0;
    let exitedAt = 0;
    const run = await runOps(copyArgs(from, to, '--yes'), env, (child) => {
      child.on('exit', () => {
        exitedAt = Date.now();
      });
      void (async () => {
        while ((await watch.dbsize()) === 0) await sleep(2);
        // The source stops answering for 3 s: the copy waits for a reply.
        void sleeper.call('DEBUG', 'SLEEP', '3').catch(() => {});
        await sleep(200);
        child.kill('SIGINT');
        await sleep(200);
        secondAt = Date.now();
        child.kill('SIGINT');
      })();
    });
    await source(6).call('FLUSHDB');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      /^copy-data: interrupted again: exited at once\. The target holds a partial copy: empty it \(FLUSHALL on the target\) before running copy-data again\.$/m,
    );
    expect(secondAt).toBeGreaterThan(0);
    expect(exitedAt - secondAt).toBeLessThan(1_000);
  });

  it('a connection lost during the copy is reported with its cause, not a bare "Connection is closed."', async () => {
    const bulk = source(3).pipeline();
    for (let i = 0; i < 30_000; i++) bulk.set(`bulk:${i}`, `v${i}`);
    await bulk.exec();
    // The target behind a TCP relay that resets every connection, and refuses new ones, once the
    // copy has begun.
    const relay = await tcpRelay(redis.port);
    const watch = target(3);
    const run = await runOps(copyArgs(from, `redis://default@127.0.0.1:${relay.port}`, '--yes'), env, () => {
      void (async () => {
        while ((await watch.dbsize()) === 0) await sleep(2);
        relay.cut();
      })();
    });
    await source(3).call('FLUSHDB');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^ops copy-data: .*the connection to the target default@127\\.0\\.0\\.1:${relay.port} (failed: (read ECONNRESET|connect ECONNREFUSED|write EPIPE)|was closed \\(by the server, or the network\\))\\.`,
        'm',
      ),
    );
    expect(run.stderr).not.toMatch(/Connection is closed|max retries per request/);
    expect(run.stderr).toContain('The target holds a partial copy');
  });

  it('a database the target does not have (the source has 32) is refused before anything is written', async () => {
    await source(20).set('x', 'y');
    const run = await runOps(copyArgs(from, to, '--yes'), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^ops copy-data: the target has no database 20 \(SELECT 20: ERR DB index is out of range\)\. Nothing was written\.$/m,
    );
    expect(await targetKeys()).toEqual({});
    await source(20).del('x');
    const missing = await runOps(copyArgs(from, to, '--db', '40', '--yes'), env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /the source has no database 40 \(SELECT 40: ERR DB index is out of range\)/,
    );
  });

  it('--db 1 copies that database alone, into a target whose other databases hold data', async () => {
    await target(0).set('target-own', 'stays');
    const run = await runOps(copyArgs(from, to, '--db', '1', '--yes'), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}db1: 1 key copied$/m);
    expect(run.stdout).toMatch(/^verified: DBSIZE equal \(db1 1\); 1 keys compared \(all\)/m);
    expect(await target(1).get('b')).toBe('2');
    expect(await targetKeys()).toEqual({
      db0: expect.stringMatching(/^keys=1,/),
      db1: expect.stringMatching(/^keys=1,/),
    });
    expect(await target(0).get('target-own')).toBe('stays');
    await target().call('FLUSHALL');
  });

  it('Ctrl-C stops it (exit 130) and says what the target holds', async () => {
    const p = source(6).pipeline();
    for (let i = 0; i < 100_000; i++) p.set(`bulk:${i}`, `v${i}`);
    await p.exec();
    const run = await runOps(copyArgs(from, to, '--yes'), env, (child) => {
      setTimeout(() => child.kill('SIGINT'), 2_000);
    });
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      /^copy-data: interrupted\. (Nothing was written\.|The target holds a partial copy: empty it \(FLUSHALL on the target\) before running copy-data again\.|The copy was complete but is not verified\.)$/m,
    );
    expect(run.stdout).toBe('');
    // It says what is so: a partial copy exactly when the target holds keys.
    expect((await target(6).dbsize()) > 0).toBe(/partial copy|complete but/.test(run.stderr));
    await source(6).call('FLUSHDB');
  });

  it('a source that is written to during the copy fails the verification (exit 1), with the differences', async () => {
    // A "producer" that was not stopped: a new key every moment, until copy-data has ended.
    const p = source(3).pipeline();
    for (let i = 0; i < 2_000; i++) p.set(`bulk:${i}`, `v${i}`);
    await p.exec();
    let writing = true;
    const producer = (async () => {
      const client = source(3);
      for (let n = 0; writing; n++) {
        await client.set(`celery-task-meta-${n}`, '{}');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const run = await runOps(copyArgs(from, to, '--yes'), env);
    writing = false;
    await producer;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^ops copy-data: NOT verified: db3 DBSIZE (\d+) on the source, (\d+) on the target/m,
    );
    expect(run.stdout).not.toMatch(/^verified/m);
    expect(run.stderr).toContain('Is something still writing to the source?');
    await target().call('FLUSHALL');
    await source(3).call('FLUSHDB');
  });
});

describe('ops copy-data over TLS, with users and passwords on both sides', () => {
  let dir: string;
  let valkey: ValkeyProcess;
  let redis: RedisProcess;
  let sourceTls: number;
  let targetTls: number;
  let sourceCa: string;
  let targetCa: string;
  const source = (db = 0) => valkey.client(db, RESP2);
  const target = (db = 0) => redis.client('default', { ...RESP2, db });
  const env = { REDIS_FROM_PASSWORD: APP_PASSWORD, REDIS_TO_PASSWORD: PASSWORDS.default };

  beforeAll(async () => {
    requireValkeyChroot();
    // The certificates where valkey-server, in its chroot, can read them.
    dir = mkdtempSync(join(VALKEY_CHROOT, 'tmp', 'copy-data-tls-'));
    const inChroot = (path: string) => `/tmp/${path.slice(join(VALKEY_CHROOT, 'tmp').length + 1)}`;
    const sourceCerts = makeCertificates(dir, 'source');
    const targetCerts = makeCertificates(dir, 'target');
    sourceCa = sourceCerts.ca;
    targetCa = targetCerts.ca;
    [sourceTls, targetTls] = await Promise.all([freePort(), freePort()]);
    const runtime = makeTempDir('copy-data-runtime');
    [valkey, redis] = await Promise.all([
      ValkeyProcess.start({
        args: [
          '--tls-port',
          String(sourceTls),
          '--tls-cert-file',
          inChroot(sourceCerts.cert),
          '--tls-key-file',
          inChroot(sourceCerts.key),
          '--tls-ca-cert-file',
          inChroot(sourceCerts.ca),
          '--tls-auth-clients',
          'no',
        ],
      }),
      RedisProcess.start({
        env: {
          REDIS_TLS: 'transitional',
          REDIS_TLS_PORT: String(targetTls),
          REDIS_TLS_CERT: targetCerts.pem.cert,
          REDIS_TLS_KEY: targetCerts.pem.key,
          REDIS_TLS_CA: targetCerts.pem.ca,
          REDIS_RUNTIME_DIR: runtime,
        },
      }),
    ]);
    await addAppUser(source());
    await source().set(Buffer.from([0xff, 0x00]), randomBytes(2000));
    await source().zadd('unacked_index', 1764460800.123456, 'tag-1');
    await source(2).rpush('queue', 'a', 'b', 'c');
    await source(2).set('ttl', 'v', 'PX', 600_000);
  }, 60_000);
  afterAll(async () => {
    await valkey?.cleanup();
    await redis?.cleanup();
    if (dir) removeTempDir(dir);
  });

  const tlsArgs = (caTo: string) =>
    copyArgs(
      `rediss://app@localhost:${sourceTls}`,
      `rediss://default@localhost:${targetTls}`,
      '--ca-file-from',
      sourceCa,
      '--ca-file-to',
      caTo,
      '--yes',
    );

  it('a CA that did not sign the target’s certificate is refused (exit 1), nothing written', async () => {
    const run = await runOps(tlsArgs(sourceCa), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^ops copy-data: cannot connect to the target default@localhost:\d+ \(tls\): .*certificate/m,
    );
    expect(parseInfo(await target().info('keyspace'))).toEqual({});
  });

  it('rediss:// on both sides, each verified against its CA for the host name: copied and verified', async () => {
    const run = await runOps(tlsArgs(targetCa), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^copied Valkey 8\.1\.\d+ at .*@localhost:\d+ \(tls\) -> Redis 7\.0\.15 at default@localhost:\d+ \(tls\)/,
    );
    expect(run.stdout).toMatch(/^verified: DBSIZE equal \(db0 2, db2 2\)/m);
    for (const db of [0, 2]) await expectSameData(source(db), target(db));
    expect(await target().zscore('unacked_index', 'tag-1')).toBe('1764460800.123456');
  });
});

describe('copy-data internals, on real servers', () => {
  let valkey: ValkeyProcess;
  let redis: RedisProcess;
  const source = () => valkey.client(0, RESP2);
  const target = () => redis.client('default', RESP2);

  beforeAll(async () => {
    requireValkeyChroot();
    [valkey, redis] = await Promise.all([ValkeyProcess.start(), RedisProcess.start()]);
  }, 60_000);
  afterAll(async () => {
    await valkey?.cleanup();
    await redis?.cleanup();
  });
  afterEach(async () => {
    await source().call('FLUSHALL');
    await target().call('FLUSHALL');
  });

  it('a key that expired after SCAN returned it is skipped, not an error; a repeated key is not written twice', async () => {
    await source().set('live', 'v');
    await source().rpush('list', 'a', 'b');
    await source().set('short-lived', 'v', 'PX', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const keys = ['live', 'short-lived', 'list'].map((key) => Buffer.from(key));
    const first = await copyKeys(source(), target(), keys);
    expect(first.copied.map(String).sort()).toEqual(['list', 'live']);
    expect(first.skippedExpired).toBe(1);
    expect(await target().exists('short-lived')).toBe(0);
    // SCAN may return a key again: it is on the target already and is not appended twice.
    const again = await copyKeys(source(), target(), keys);
    expect(again).toMatchObject({ copied: [], skippedExpired: 1 });
    expect(again.existing.map(String).sort()).toEqual(['list', 'live']);
    expect(await target().lrange('list', 0, -1)).toEqual(['a', 'b']);
  });

  it('a key the target holds already is neither merged into nor written over, whatever its type; no temporary key stays', async () => {
    const s = source();
    await s.rpush('celery', 'm1', 'm2', 'm3');
    await s.hset('unacked', 'tag-1', 'message 1');
    await s.zadd('unacked_index', 1764460800.5, 'tag-1');
    await s.sadd('_kombu.binding.celery', `celery${SEP}${SEP}celery`);
    await s.xadd('events', '1-1', 'n', '1');
    await s.set('string', 'from the source', 'EX', 100);
    await s.rpush('large', ...Array.from({ length: 2 * CHUNK }, (_, i) => `x${i}`));
    await s.hset(
      'large-hash',
      Object.fromEntries(Array.from({ length: 2 * CHUNK }, (_, i) => [`f${i}`, 'v'])),
    );
    await s.set('fresh', 'copied');
    // What a producer or a worker on the new Redis wrote first.
    const t = target();
    await t.lpush('celery', 'a producer’s message');
    await t.hset('unacked', 'tag-2', 'a worker’s');
    await t.zadd('unacked_index', 2, 'tag-2');
    await t.sadd('_kombu.binding.celery', 'another binding');
    await t.xadd('events', '2-1', 'n', '2');
    await t.set('string', 'the target’s');
    await t.rpush('large', 'own');
    await t.hset('large-hash', 'own', 'v');
    const before = await dump(t);
    const names = [
      'celery',
      'unacked',
      'unacked_index',
      '_kombu.binding.celery',
      'events',
      'string',
      'large',
      'large-hash',
      'fresh',
    ];
    const result = await copyKeys(
      s,
      t,
      names.map((name) => Buffer.from(name)),
    );
    expect(result.copied.map(String)).toEqual(['fresh']);
    expect(result.existing.map(String).sort()).toEqual(names.filter((name) => name !== 'fresh').sort());
    await t.del('fresh');
    expect(await dump(t)).toEqual(before);
  });

  it('a key that appears on the target while its value is copied is not merged into: RENAMENX finds the name taken', async () => {
    const limits = { ...DEFAULT_LIMITS, chunkElements: 5 };
    const s = source();
    await s.rpush('celery', ...Array.from({ length: 200 }, (_, i) => `m${i}`));
    await s.hset('unacked', Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`tag-${i}`, `m${i}`])));
    for (let i = 1; i <= 50; i++) await s.xadd('events', `${i}-1`, 'n', String(i));
    await s.xgroup('CREATE', 'events', 'workers', '0');
    const t = target();
    const producer = target();
    let calls = 0;
    // Between two chunks of the first key, a producer writes each key on the target.
    const hook = () => {
      calls++;
      if (calls === 2) {
        void producer.lpush('celery', 'producer');
        void producer.hset('unacked', 'tag-x', 'worker');
        void producer.xadd('events', '9-9', 'n', 'producer');
      }
    };
    const names = ['celery', 'unacked', 'events'];
    const result = await copyKeys(
      s,
      t,
      names.map((name) => Buffer.from(name)),
      limits,
      hook,
    );
    expect(calls).toBeGreaterThan(10);
    expect(result.copied).toEqual([]);
    expect(result.existing.map(String)).toEqual(names);
    expect(await t.lrange('celery', 0, -1)).toEqual(['producer']);
    expect(await t.hgetall('unacked')).toEqual({ 'tag-x': 'worker' });
    expect(await t.xlen('events')).toBe(1);
    expect(await t.xinfo('GROUPS', 'events')).toEqual([]);
    expect(await t.pttl('celery')).toBe(-1);
    expect((await t.keys('*')).sort()).toEqual(['celery', 'events', 'unacked']);
  });

  it('Ctrl-C inside a large key or a stream stops between two chunks; the temporary key is deleted', async () => {
    const limits = { ...DEFAULT_LIMITS, chunkElements: 5 };
    const s = source();
    await s.rpush('list', ...Array.from({ length: 500 }, (_, i) => `x${i}`));
    await s.set('string', randomBytes(64 * 1024 + 1));
    for (let i = 1; i <= 500; i++) await s.xadd('stream', `${i}-1`, 'n', String(i));
    for (const key of ['list', 'stream', 'string']) {
      let calls = 0;
      const interruptAt = key === 'string' ? 3 : 5;
      const stop = () => {
        calls++;
        if (calls === interruptAt) throw new Error('interrupted (Ctrl-C)');
      };
      const copy = copyKeys(s, target(), [Buffer.from(key)], { ...limits, chunkBytes: 16 * 1024 }, stop);
      await expect(copy).rejects.toThrow('interrupted (Ctrl-C)');
      expect({ key, calls }).toEqual({ key, calls: interruptAt });
      expect({ key, keys: await target().dbsize() }).toEqual({ key, keys: 0 });
    }
  });

  it('a read of a large value or a batch of small ones stays within a byte budget, whatever the elements’ size', async () => {
    // Elements of 16 KiB against a read budget of 64 KiB and a batch budget of 512 KiB (the
    // defaults, 1 MiB and 16 MiB, scaled down): each read and each pipeline measured.
    const limits = { ...DEFAULT_LIMITS, chunkBytes: 64 * 1024, batchBytes: 512 * 1024 };
    const element = (i: number) => Buffer.concat([Buffer.from(`${i}:`), randomBytes(16 * 1024)]);
    const s = source();
    await s.rpush('list', ...Array.from({ length: 64 }, (_, i) => element(i)));
    await s.hset('hash', ...Array.from({ length: 40 }, (_, i) => [`f${i}`, element(i)]).flat());
    await s.sadd('set', ...Array.from({ length: 40 }, (_, i) => element(i)));
    await s.zadd('zset', ...Array.from({ length: 40 }, (_, i) => [i, element(i)]).flat());
    for (let i = 1; i <= 64; i++) await s.xadd('stream', `${i}-1`, 'data', element(i));
    const small = Array.from({ length: 60 }, (_, i) => `small:${i}`);
    for (const key of small) await s.hset(key, 'a', element(1), 'b', element(2));
    const strings = Array.from({ length: 60 }, (_, i) => `string:${i}`);
    for (const key of strings) await s.set(key, randomBytes(20 * 1024));
    const keys = ['list', 'hash', 'set', 'zset', 'stream', ...small, ...strings].map((key) =>
      Buffer.from(key),
    );
    const reader = source();
    const measured = measureReplies(reader);
    const result = await copyKeys(reader, target(), keys, limits);
    expect(result.copied).toHaveLength(keys.length);
    await expectSameData(source(), target());
    // LRANGE and XRANGE ask for as many elements as fit: one element over the budget at most. The
    // *SCAN COUNT is a hint, and a step of Valkey 8.1's hash table takes a whole bucket (up to 7
    // elements): a few elements more. Before, each was one read of the whole value (1 MiB, 640 KiB).
    const elementBytes = 16 * 1024 + 64;
    const bound = (command: string) =>
      command.endsWith('SCAN') ? limits.chunkBytes + 10 * elementBytes : limits.chunkBytes + elementBytes;
    const reads = ['LRANGE', 'XRANGE', 'HSCAN', 'SSCAN', 'ZSCAN'].map((command) => ({
      command,
      bytes: measured.largest.get(command) ?? 0,
    }));
    expect(reads.filter(({ command, bytes }) => bytes === 0 || bytes > bound(command))).toEqual([]);
    expect(measured.largestPipeline).toBeLessThanOrEqual(limits.batchBytes + 64 * 1024);
    expect(measured.largestPipeline).toBeGreaterThan(limits.chunkBytes);
  });

  it('a large key whose TTL runs out while it is copied is skipped, and removed from the target again', async () => {
    // Tiny chunks make the copy of this list take a while: first timed without a TTL, then with a
    // TTL of a quarter of that time, which runs out mid-copy.
    const limits = { ...DEFAULT_LIMITS, chunkElements: 5 };
    await source().rpush('list', ...Array.from({ length: 2 * CHUNK }, (_, i) => `x${i}`));
    const started = Date.now();
    expect((await copyKeys(source(), target(), [Buffer.from('list')], limits)).copied).toHaveLength(1);
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(40);
    await target().del('list');
    await source().pexpire('list', Math.floor(took / 4));
    const result = await copyKeys(source(), target(), [Buffer.from('list')], limits);
    expect(result).toMatchObject({ copied: [], skippedExpired: 1 });
    expect(await target().exists('list')).toBe(0);
  });

  it('the verification sees every kind of difference (so a copy that went wrong cannot pass)', async () => {
    const compare = (key: string) =>
      compareKey(source(), target(), Buffer.from(key), { ttlToleranceMs: 2_000 });
    await source().rpush('queue', 'a', 'b', 'c');
    await target().rpush('queue', 'a', 'c', 'b');
    expect(await compare('queue')).toMatch(/^element 1 differs/);
    await source().zadd('z', 0.1, 'm');
    await target().zadd('z', 0.1000000001, 'm');
    expect(await compare('z')).toMatch(
      /^member "m": score 0\.1 on the source, 0\.1000000001\d* on the target$/,
    );
    await source().set('s', 'v', 'EX', 100);
    await target().set('s', 'v');
    expect(await compare('s')).toMatch(/^TTL \d+ ms on the source, none on the target$/);
    await source().set('t', 'v', 'EX', 100);
    await target().set('t', 'v', 'EX', 90);
    expect(await compare('t')).toMatch(/^TTL \d+ ms on the source, \d+ ms on the target$/);
    await source().hset('h', 'f', 'v', 'g', 'w');
    await target().hset('h', 'f', 'v', 'g', 'x');
    expect(await compare('h')).toBe('field "g" differs or is missing');
    await source().sadd('set', 'a', 'b');
    await target().sadd('set', 'a', 'c');
    expect(await compare('set')).toBe('member "b" is missing');
    await source().set('only-source', 'v');
    expect(await compare('only-source')).toBe('missing on the target');
    await source().set('type', 'v');
    await target().rpush('type', 'v');
    expect(await compare('type')).toBe('type string on the source, list on the target');
    await source().set('big', randomBytes(3 * 1024 * 1024));
    const altered = Buffer.from((await source().getBuffer('big')) as Buffer);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    await target().set('big', altered);
    expect(await compare('big')).toBe('the value differs from byte 2097152 on');
    await source().xadd('st', '1-1', 'a', 'b');
    await target().xadd('st', '1-1', 'a', 'b');
    await source().xgroup('CREATE', 'st', 'g', '0');
    expect(await compare('st')).toMatch(/^consumer groups differ/);
    await target().xgroup('CREATE', 'st', 'g', '0');
    expect(await compare('st')).toBeUndefined();
    // Equal keys are equal, across engines' ways of printing scores.
    await source().zadd('same', 0.1, 'm', 1764460800.123456, 'n');
    await target().zadd('same', '0.10000000000000001', 'm', '1764460800.123456', 'n');
    expect(await compare('same')).toBeUndefined();
    // A key gone from both sides (expired) is no difference.
    expect(await compare('neither')).toBeUndefined();
  });
});

describe('copy-data: messages and helpers', () => {
  it('lists the keys of a type it cannot copy (a module type), with a count of the rest', () => {
    const survey: Survey = {
      databases: [],
      unsupported: [
        { db: 0, key: Buffer.from('filter:signups'), type: 'MBbloom--' },
        { db: 2, key: Buffer.from([0xff, 0x00]), type: 'ReJSON-RL' },
      ],
      unsupportedCount: 25,
    };
    expect(unsupportedTypesMessage(survey).split('\n')).toEqual([
      "the source holds 25 keys of a type copy-data cannot copy (a module's type: Redis 7.0 has no such module); nothing was written:",
      '  db0 "filter:signups" (MBbloom--)',
      '  db2 0xff00 (ReJSON-RL)',
      '  ... and 23 more',
      'Delete or export them on the source first (they cannot live on the target), then run copy-data again.',
    ]);
  });

  it("a connection's failure is told by its most telling error event, else its last", () => {
    const reset = new Error('read ECONNRESET');
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const wrongpass = new Error('WRONGPASS invalid username-password pair or user is disabled.');
    const certificate = new Error('self-signed certificate in certificate chain');
    expect(moreRelevant(reset, refused)).toBe(refused);
    expect(moreRelevant(undefined, reset)).toBe(reset);
    expect(moreRelevant(wrongpass, reset)).toBe(wrongpass);
    expect(moreRelevant(reset, wrongpass)).toBe(wrongpass);
    expect(moreRelevant(certificate, new Error('Connection is closed.'))).toBe(certificate);
  });

  it('prints key names as text when printable, as hex otherwise', () => {
    expect(printableKey(Buffer.from('celery'))).toBe('"celery"');
    expect(printableKey(Buffer.from(`celery${SEP}3`))).toBe('0x63656c657279061633');
    expect(printableKey(Buffer.from('é'))).toBe('"é"');
  });

  it('a progress line: keys, percent, rate and ETA', () => {
    expect(describeKeyProgress('copy-data: db0', 2_500, 10_000, 1_000)).toBe(
      'copy-data: db0: 2500 of 10000 keys (25%), 2500 keys/s, ETA 0:03',
    );
    expect(describeKeyProgress('copy-data: db0', 10, undefined, 1_000)).toBe(
      'copy-data: db0: 10 keys, 10 keys/s',
    );
  });

  it('the verification sample is uniform and bounded', () => {
    const reservoir = new Reservoir<number>(100);
    for (let i = 0; i < 100_000; i++) reservoir.add(i);
    expect(reservoir.items).toHaveLength(100);
    const mean = reservoir.items.reduce((a, b) => a + b, 0) / 100;
    expect(mean).toBeGreaterThan(35_000);
    expect(mean).toBeLessThan(65_000);
    expect(scoreValue('inf')).toBe(Number.POSITIVE_INFINITY);
    expect(scoreValue('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(scoreValue('0.10000000000000001')).toBe(0.1);
  });
});
