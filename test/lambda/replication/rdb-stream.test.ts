import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RdbVerifier } from '../../../lambda/shared/rdb';
import { openRdbStream, type RdbStream, ReplicationError } from '../../../lambda/shared/replication';
import { PASSWORDS, RedisProcess, sleep } from '../../../ops/local/redis-process';
import { populate, populateBulk } from '../helpers/dataset';
import { FakeRedis, replicationHandler } from '../helpers/fake-redis';
import { PlainRedis } from '../helpers/plain-redis';

async function collect(stream: RdbStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function verified(stream: RdbStream) {
  const verifier = new RdbVerifier();
  await pipeline(
    stream,
    verifier,
    new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    }),
  );
  return verifier.result;
}

describe('openRdbStream against a real Redis (the project config, backup ACL user)', () => {
  let redis: RedisProcess;
  const backup = () => ({
    host: '127.0.0.1',
    port: redis.port,
    username: 'backup',
    password: PASSWORDS.backup,
  });

  beforeAll(async () => {
    redis = await RedisProcess.start();
    await populate(redis.client(), redis.client('default', { db: 1 }));
  });
  afterAll(async () => redis.cleanup());

  it('streams a verifiable RDB in diskless mode ($EOF:<mark> framing, mark stripped)', async () => {
    const stream = await openRdbStream(backup());
    expect(stream.framing).toBe('diskless');
    expect(await verified(stream)).toMatchObject({ rdbVersion: 10, checksum: 'verified' });
  });

  it('streams a verifiable RDB in disk mode ($<length> framing)', async () => {
    await redis.client().config('SET', 'repl-diskless-sync', 'no');
    try {
      const stream = await openRdbStream(backup());
      expect(stream.framing).toBe('disk');
      const rdb = await collect(stream);
      expect(rdb.length).toBe(stream.expectedLength);
      expect(rdb.subarray(0, 9).toString()).toBe('REDIS0010');
    } finally {
      await redis.client().config('SET', 'repl-diskless-sync', 'yes');
    }
  });

  it('rejects a wrong password with Redis own error, without the password', async () => {
    const error = await openRdbStream({ ...backup(), password: 'not-the-password-123' }).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(ReplicationError);
    expect((error as Error).message).toMatch(/refused AUTH .*WRONGPASS/);
    expect((error as Error).message).not.toContain('not-the-password-123');
  });

  it('rejects a user without replication rights (monitor) with NOPERM', async () => {
    await expect(
      openRdbStream({ ...backup(), username: 'monitor', password: PASSWORDS.monitor }),
    ).rejects.toThrow(/refused REPLCONF: NOPERM/);
  });

  it('fails clearly when nothing listens', async () => {
    const unused = redis.port === 1 ? 2 : 1;
    await expect(openRdbStream({ ...backup(), port: unused })).rejects.toThrow(
      new RegExp(`connection to Redis at 127.0.0.1:${unused} failed: .*ECONNREFUSED`),
    );
  });

  it('pauses the socket when the consumer does not read (backpressure)', async () => {
    const bulk = await RedisProcess.start();
    try {
      await populateBulk(bulk.client(), 48);
      const stream = await openRdbStream({
        host: '127.0.0.1',
        port: bulk.port,
        username: 'backup',
        password: PASSWORDS.backup,
      });
      await sleep(400);
      // Nothing read: only the stream's buffer (1 MiB high-water mark) plus a read or two arrive.
      expect(stream.received).toBeLessThan(4 * 1024 * 1024);
      const rdb = await collect(stream);
      expect(rdb.length).toBeGreaterThan(48 * 1024 * 1024);
    } finally {
      await bulk.cleanup();
    }
  });
});

it('works with a server that has no password (no AUTH sent)', async () => {
  const plain = await PlainRedis.start({
    config: ['appendonly no', 'save ""', 'repl-diskless-sync-delay 0'],
  });
  try {
    await plain.client().set('k', 'v');
    const stream = await openRdbStream({ host: '127.0.0.1', port: plain.port });
    expect(await verified(stream)).toMatchObject({ checksum: 'verified' });
  } finally {
    await plain.cleanup();
  }
});

describe('openRdbStream against a fake Redis (framings and failures a real one will not produce on demand)', () => {
  const rdb = Buffer.concat([Buffer.from('REDIS0010'), randomBytes(100_000)]);
  const mark = 'a'.repeat(20) + 'b'.repeat(20);
  let fake: FakeRedis | undefined;

  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });

  const open = async (
    onSync: (socket: Socket) => void,
    extra: { idleTimeoutMs?: number; signal?: AbortSignal } = {},
  ) => {
    fake = await FakeRedis.start(replicationHandler(onSync));
    return openRdbStream({
      host: '127.0.0.1',
      port: fake.port,
      username: 'backup',
      password: 'secret-pass',
      ...extra,
    });
  };

  it('sends AUTH user pass, REPLCONF capa eof, REPLCONF rdb-only 1, SYNC, and skips keepalives', async () => {
    const stream = await open((socket) => {
      socket.write('\n\n');
      setTimeout(() => socket.write(`\n$${rdb.length}\r\n`), 20);
      setTimeout(() => socket.write(rdb), 40);
    });
    expect(await collect(stream)).toEqual(rdb);
    expect(fake?.commands).toEqual([
      ['AUTH', 'backup', 'secret-pass'],
      ['REPLCONF', 'capa', 'eof'],
      ['REPLCONF', 'rdb-only', '1'],
      ['SYNC'],
    ]);
  });

  it('strips a diskless end mark even when it arrives split across packets', async () => {
    const stream = await open((socket) => {
      socket.write(`\n$EOF:${mark}\r\n`);
      socket.write(rdb);
      socket.write(mark.slice(0, 13));
      setTimeout(() => socket.write(mark.slice(13)), 30);
    });
    expect(stream.framing).toBe('diskless');
    expect(await collect(stream)).toEqual(rdb);
  });

  it('fails when a disk-mode transfer is cut short', async () => {
    const stream = await open((socket) => {
      socket.write(`$${rdb.length}\r\n`);
      socket.end(rdb.subarray(0, 5000));
    });
    await expect(collect(stream)).rejects.toThrow(
      `closed the connection after 5000 of ${rdb.length} RDB bytes: the RDB is incomplete`,
    );
  });

  it('fails when a diskless transfer ends without the end mark', async () => {
    const stream = await open((socket) => {
      socket.write(`$EOF:${mark}\r\n`);
      socket.end(rdb);
    });
    await expect(collect(stream)).rejects.toThrow(/without the end-of-RDB mark: the RDB is incomplete/);
  });

  it('fails on an error header after SYNC', async () => {
    await expect(open((socket) => socket.write('\n-ERR something went wrong\r\n'))).rejects.toThrow(
      /refused SYNC: ERR something went wrong/,
    );
  });

  it('fails on a close before the header', async () => {
    await expect(open((socket) => socket.end('\n'))).rejects.toThrow(/before sending the RDB \(after SYNC\)/);
  });

  it('fails when Redis goes silent (idle timeout)', async () => {
    const stream = await open(
      (socket) => {
        socket.write(`$${rdb.length}\r\n`);
        socket.write(rdb.subarray(0, 10));
      },
      { idleTimeoutMs: 200 },
    );
    await expect(collect(stream)).rejects.toThrow(/sent nothing for 200 ms/);
  });

  it('stops on an abort signal, with its reason', async () => {
    const controller = new AbortController();
    const stream = await open(
      (socket) => {
        socket.write(`$${rdb.length}\r\n`);
        socket.write(rdb.subarray(0, 10));
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    await expect(collect(stream)).rejects.toThrow(/aborted: deadline/);
  });
});
