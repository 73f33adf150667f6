import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { installSnapshot, RestoreError } from '../../../lambda/restore/install-snapshot';
import { RedisProcess, sleep } from '../../../ops/local/redis-process';
import { fingerprint, Scratch } from '../../support/scratch';
import { dumpDatabase, expectSameDataset, populate } from '../helpers/dataset';
import { fetchRdb } from '../helpers/rdb';

describe('installSnapshot: the restore install step', () => {
  let source: RedisProcess;
  let snapshot: Buffer;
  let expected: Awaited<ReturnType<typeof dumpDatabase>>;
  let expectedDb1: Awaited<ReturnType<typeof dumpDatabase>>;
  const scratch = new Scratch();

  beforeAll(async () => {
    source = await RedisProcess.start();
    await populate(source.client(), source.client('default', { db: 1 }));
    snapshot = await fetchRdb(source.port);
    expected = await dumpDatabase(source.client());
    expectedDb1 = await dumpDatabase(source.client('default', { db: 1 }));
  });
  afterAll(async () => {
    await source.cleanup();
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  it.each([
    ['an empty data directory', async () => scratch.dir('restore')],
    ['a directory with an existing appendonlydir and dump.rdb', async () => scratch.oldDataDir(100)],
  ])('into %s: Redis with appendonly yes then holds exactly the snapshot', async (_case, makeDir) => {
    const dir = await makeDir();
    const result = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'test',
    });
    expect(result).toMatchObject({ bytes: snapshot.length, rdbVersion: 10, checksum: 'verified' });

    const restored = await scratch.redis(dir);
    expect(await restored.client().config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expectSameDataset(await dumpDatabase(restored.client()), expected);
    expectSameDataset(await dumpDatabase(restored.client('default', { db: 1 })), expectedDb1);
    expect(await restored.client().exists('old:0')).toBe(0);
  });

  it('moves the old data aside into a dated folder, from which it can be brought back', async () => {
    const dir = await scratch.oldDataDir(50);
    const before = fingerprint(dir);
    const result = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'test',
      now: new Date('2026-11-25T03:00:00Z'),
    });
    expect(result.previousData).toBe(join(dir, 'pre-restore-20261125T030000Z'));
    // Every old data file is in the folder, byte for byte (the entrypoint's lock file stays put).
    const kept = fingerprint(result.previousData as string);
    const { '.redis.lock': _lock, ...dataFiles } = before;
    expect(kept).toEqual(dataFiles);
    expect(existsSync(join(dir, 'dump.rdb'))).toBe(false);

    // "Undo": put the kept appendonlydir back; Redis loads the old data again.
    const undoDir = scratch.dir('restore');
    mkdirSync(join(undoDir, 'appendonlydir'));
    for (const file of readdirSync(join(result.previousData as string, 'appendonlydir'))) {
      writeFileSync(
        join(undoDir, 'appendonlydir', file),
        readFileSync(join(result.previousData as string, 'appendonlydir', file)),
      );
    }
    const undone = await scratch.redis(undoDir);
    expect(await undone.client().dbsize()).toBe(50);
    expect(await undone.client().get('old:7')).toBe('old value 7');
  });

  function flipped(at: number): Buffer {
    const copy = Buffer.from(snapshot);
    copy[at] = (copy[at] as number) ^ 0x01;
    return copy;
  }

  it.each([
    ['a snapshot with one flipped byte', () => flipped(Math.floor(snapshot.length / 2)), /checksum|CRC/i],
    ['a truncated snapshot', () => snapshot.subarray(0, snapshot.length - 100), /truncated/],
    [
      'a snapshot in a newer RDB format (Redis 7.4 writes 12)',
      () => Buffer.concat([Buffer.from('REDIS0012'), snapshot.subarray(9)]),
      /version 12/,
    ],
    ['something that is not an RDB', () => Buffer.from('<html>Access Denied</html>'), /not an RDB/],
  ])('refuses %s and leaves every file untouched', async (_case, makeBytes, message) => {
    const dir = await scratch.oldDataDir(20);
    const before = fingerprint(dir);
    const attempt = installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([makeBytes()]),
      source: 's3://b/k',
    });
    await expect(attempt).rejects.toThrow(RestoreError);
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toThrow(/snapshot s3:\/\/b\/k refused, nothing was changed/);
    expect(fingerprint(dir)).toEqual(before);
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(20);
  });

  it('leaves the old data loadable when the install fails after the download (before the switch)', async () => {
    const dir = await scratch.oldDataDir(40);
    const now = new Date('2026-11-25T05:00:00Z');
    // An earlier, interrupted attempt left a file where this one wants to keep the old manifest.
    mkdirSync(join(dir, 'pre-restore-20261125T050000Z', 'appendonlydir'), { recursive: true });
    writeFileSync(join(dir, 'pre-restore-20261125T050000Z', 'appendonlydir', 'appendonly.aof.manifest'), '');
    await expect(
      installSnapshot({ dataDir: dir, snapshot: Readable.from([snapshot]), source: 'test', now }),
    ).rejects.toThrow(/failed, the old data is still in place: EEXIST/);
    expect(readdirSync(join(dir, 'appendonlydir')).sort()).toEqual([
      'appendonly.aof.1.base.rdb',
      'appendonly.aof.1.incr.aof',
      'appendonly.aof.manifest',
    ]);
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(40);
  });

  it('leaves the old data in place when the download breaks off midway', async () => {
    const dir = await scratch.oldDataDir(30);
    const before = fingerprint(dir);
    const half = snapshot.subarray(0, Math.floor(snapshot.length / 2));
    const broken = new Readable({
      read() {
        this.push(half);
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(installSnapshot({ dataDir: dir, snapshot: broken, source: 'test' })).rejects.toThrow(
      /refused, nothing was changed: socket hang up/,
    );
    expect(fingerprint(dir)).toEqual(before);
  });

  it.each([
    ['an empty manifest', (manifest: string) => writeFileSync(manifest, '')],
    [
      'a torn manifest',
      (manifest: string) => writeFileSync(manifest, readFileSync(manifest, 'utf8').slice(0, -12)),
    ],
  ])(
    'over %s (Redis refuses to start): restores, and the kept old files stay byte for byte',
    async (_case, damage) => {
      const dir = await scratch.oldDataDir(100);
      damage(join(dir, 'appendonlydir', 'appendonly.aof.manifest'));
      const before = fingerprint(dir);
      const result = await installSnapshot({
        dataDir: dir,
        snapshot: Readable.from([snapshot]),
        source: 'test',
        now: new Date('2026-11-25T03:00:00Z'),
      });
      // The new files take numbers above every name in the directory, not just the manifest's.
      expect(result.installedAs).toBe(join(dir, 'appendonlydir', 'appendonly.aof.2.base.rdb'));
      const kept = fingerprint(result.previousData as string);
      // Redis's data (appendonlydir, dump.rdb) is kept; the entrypoint's lock file is not data.
      const data = Object.entries(before).filter(([file]) => file !== '.redis.lock');
      expect(data.length).toBeGreaterThanOrEqual(4);
      for (const [file, hash] of data) expect([file, kept[file]]).toEqual([file, hash]);
      const restored = await scratch.redis(dir);
      expectSameDataset(await dumpDatabase(restored.client()), expected);
    },
  );

  it('never writes into a file name an undone restore left behind (a hard link of kept data)', async () => {
    const dir = await scratch.oldDataDir(100);
    // appendonly.aof.2.incr.aof: not in the manifest, but on disk and linked into a kept folder.
    const leftover = join(dir, 'appendonlydir', 'appendonly.aof.2.incr.aof');
    writeFileSync(leftover, 'SET written-after-restore yes\n');
    mkdirSync(join(dir, 'undone-restore-20261125T031000Z', 'appendonlydir'), { recursive: true });
    const keptCopy = join(
      dir,
      'undone-restore-20261125T031000Z',
      'appendonlydir',
      'appendonly.aof.2.incr.aof',
    );
    const { linkSync } = await import('node:fs');
    linkSync(leftover, keptCopy);
    const result = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'test',
    });
    expect(result.installedAs).toBe(join(dir, 'appendonlydir', 'appendonly.aof.3.base.rdb'));
    expect(readFileSync(keptCopy, 'utf8')).toBe('SET written-after-restore yes\n');
  });

  it('one restore at a time: a second install while the first runs is refused, the first completes', async () => {
    const dir = await scratch.oldDataDir(20);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slowSnapshot() {
      yield snapshot.subarray(0, 1000);
      await gate;
      yield snapshot.subarray(1000);
    }
    const first = installSnapshot({ dataDir: dir, snapshot: Readable.from(slowSnapshot()), source: 'first' });
    const lock = join(dir, '.restore.lock');
    const holder = () => (existsSync(lock) ? readFileSync(lock, 'utf8') : '');
    for (let waited = 0; holder() === '' && waited < 5_000; waited += 10) await sleep(10);
    expect(readFileSync(lock, 'utf8')).toMatch(/^restore of first by pid \d+ on .* since \d{4}-/);

    await expect(
      installSnapshot({ dataDir: dir, snapshot: Readable.from([snapshot]), source: 'second' }),
    ).rejects.toThrow(/another restore or undo is working on .*: restore of first by pid/);
    release();
    expect((await first).bytes).toBe(snapshot.length);
    expect(existsSync(lock)).toBe(false);
    const restored = await scratch.redis(dir);
    expectSameDataset(await dumpDatabase(restored.client()), expected);
  });

  it('takes over the lock of a restore that died (no heartbeat for 2 minutes), and says so', async () => {
    const dir = await scratch.oldDataDir(5);
    const lock = join(dir, '.restore.lock');
    writeFileSync(lock, 'restore of s3://b/old by pid 7 on lambda since 2026-11-25T01:00:00.000Z\n');
    const old = new Date(Date.now() - 150 * 1000);
    utimesSync(lock, old, old);
    const result = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'test',
    });
    expect(result.warnings).toContainEqual(
      expect.stringMatching(
        /took over a stale .*\.restore\.lock \(no heartbeat for 15\d s: restore of s3:\/\/b\/old/,
      ),
    );
    expect(existsSync(lock)).toBe(false);
  });

  it('refuses to install under a running Redis', async () => {
    const dir = scratch.dir('restore');
    await scratch.redis(dir);
    await expect(
      installSnapshot({ dataDir: dir, snapshot: Readable.from([snapshot]), source: 'test' }),
    ).rejects.toThrow(/redis-server \(pid \d+\) is running on/);
  });
});
