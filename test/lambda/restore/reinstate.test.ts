import { cpSync, existsSync, linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { installSnapshot, RestoreError } from '../../../lambda/restore/install-snapshot';
import { previousDataFolder, reinstatePreviousData } from '../../../lambda/restore/reinstate';
import { RedisProcess } from '../../../ops/local/redis-process';
import { fingerprint, Scratch } from '../../support/scratch';
import { fetchRdb } from '../helpers/rdb';

describe('reinstatePreviousData: undoing a restore', () => {
  let snapshot: Buffer;
  const scratch = new Scratch();
  const restoreTime = new Date('2026-11-25T03:00:00Z');

  beforeAll(async () => {
    const source = await RedisProcess.start();
    try {
      const p = source.client().pipeline();
      for (let i = 0; i < 40; i++) p.set(`snap:${i}`, `snapshot value ${i}`);
      await p.exec();
      snapshot = await fetchRdb(source.port);
    } finally {
      await source.cleanup();
    }
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  async function install(dir: string) {
    return installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'test',
      now: restoreTime,
    });
  }

  it('puts the old data back: Redis loads it again, and the restored data is set aside intact', async () => {
    const dir = await scratch.oldDataDir(25);
    const before = fingerprint(dir);
    const installed = await install(dir);
    expect(installed.previousData).toBe(previousDataFolder(dir, restoreTime));

    // The restored Redis ran and took writes before the restore was undone.
    const restored = await scratch.redis(dir);
    expect(await restored.client().dbsize()).toBe(40);
    await restored.client().set('written-after-restore', 'yes');
    await scratch.stop(restored);

    const result = await reinstatePreviousData({
      dataDir: dir,
      previousData: installed.previousData as string,
      now: new Date('2026-11-25T03:10:00Z'),
    });
    expect(result).toMatchObject({
      reinstated: true,
      setAside: join(dir, 'undone-restore-20261125T031000Z'),
    });
    expect(result.warnings).toEqual([]);

    // What Redis loads is the old data again, file for file.
    const now = fingerprint(dir);
    for (const [file, hash] of Object.entries(before))
      expect({ file, hash: now[file] }).toEqual({ file, hash });
    const back = await scratch.redis(dir);
    expect(await back.client().dbsize()).toBe(25);
    expect(await back.client().get('old:3')).toBe('old value 3');
    expect(await back.client().exists('snap:0')).toBe(0);
    await scratch.stop(back);

    // The restored data (with its later write) can itself be brought back from the set-aside folder.
    const elsewhere = scratch.dir('reinstate');
    cpSync(join(result.setAside as string, 'appendonlydir'), join(elsewhere, 'appendonlydir'), {
      recursive: true,
    });
    const setAside = await scratch.redis(elsewhere);
    expect(await setAside.client().dbsize()).toBe(41);
    expect(await setAside.client().get('written-after-restore')).toBe('yes');
  });

  it('changes nothing when the install never switched, and when run a second time', async () => {
    // An install interrupted after moving the old data aside, before the manifest switch: the
    // pre-restore folder holds links to the files Redis still loads.
    const dir = await scratch.oldDataDir(10);
    const folder = previousDataFolder(dir, restoreTime);
    cpSync(join(dir, 'appendonlydir'), join(folder, 'appendonlydir'), { recursive: true });
    const before = fingerprint(dir);
    const untouched = await reinstatePreviousData({ dataDir: dir, previousData: folder });
    expect(untouched).toMatchObject({ reinstated: false, reason: expect.stringMatching(/still in place/) });
    expect(fingerprint(dir)).toEqual(before);

    // A completed undo, repeated (the state machine retries it): the second one changes nothing.
    const other = await scratch.oldDataDir(10);
    const installed = await install(other);
    expect(
      (await reinstatePreviousData({ dataDir: other, previousData: installed.previousData as string }))
        .reinstated,
    ).toBe(true);
    const undone = fingerprint(other);
    const again = await reinstatePreviousData({
      dataDir: other,
      previousData: installed.previousData as string,
    });
    expect(again.reinstated).toBe(false);
    expect(fingerprint(other)).toEqual(undone);
    const redis = await scratch.redis(other);
    expect(await redis.client().dbsize()).toBe(10);
  });

  it('a second undo after Redis ran (and rewrote its AOF) on the reinstated data rolls nothing back', async () => {
    const dir = await scratch.oldDataDir(10);
    const installed = await install(dir);
    expect(
      (await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData })).reinstated,
    ).toBe(true);
    const redis = await scratch.redis(dir);
    await redis.client().set('written-after-undo', 'yes');
    await redis.client().bgrewriteaof();
    await redis.client().set('after-rewrite', 'yes');
    await scratch.stop(redis);

    const again = await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData });
    expect(again).toMatchObject({ reinstated: false, reason: expect.stringMatching(/already undone/) });
    const after = await scratch.redis(dir);
    expect(await after.client().get('written-after-undo')).toBe('yes');
    expect(await after.client().get('after-rewrite')).toBe('yes');
  });

  it('finishes an undo that switched back and stopped before tidying up (a retry after a crash)', async () => {
    const dir = await scratch.oldDataDir(10);
    const installed = await install(dir);
    const first = await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData });
    // As if the first undo had died right after its switch: no UNDONE yet, the restored names still there.
    const setAside = first.setAside as string;
    rmSync(join(installed.previousData, 'UNDONE'));
    writeFileSync(join(installed.previousData, 'UNDOING'), `${setAside}\n`);
    for (const file of readdirSync(join(setAside, 'appendonlydir')).filter((name) => name.includes('.2.')))
      linkSync(join(setAside, 'appendonlydir', file), join(dir, 'appendonlydir', file));

    const retry = await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData });
    expect(retry).toMatchObject({ reinstated: true, setAside });
    expect(retry.warnings[0]).toMatch(/earlier undo had switched back and stopped before tidying up/);
    expect(readdirSync(join(dir, 'appendonlydir')).filter((name) => name.includes('.2.'))).toEqual([]);
    expect(existsSync(join(installed.previousData, 'UNDONE'))).toBe(true);
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(10);
  });

  it('restores "no data" when the old directory had only a dump.rdb (Redis with appendonly yes ignores it)', async () => {
    const dir = scratch.dir('reinstate');
    writeFileSync(join(dir, 'dump.rdb'), snapshot);
    const installed = await install(dir);
    expect(existsSync(join(dir, 'dump.rdb'))).toBe(false);
    const result = await reinstatePreviousData({
      dataDir: dir,
      previousData: installed.previousData as string,
    });
    expect(result.reinstated).toBe(true);
    expect(readFileSync(join(dir, 'dump.rdb'))).toEqual(snapshot);
    expect(existsSync(join(dir, 'appendonlydir', 'appendonly.aof.manifest'))).toBe(false);
  });

  it('fails without switching when a previous file name is taken, leaving the restored data loadable', async () => {
    const dir = await scratch.oldDataDir(5);
    const installed = await install(dir);
    const oldBase = readdirSync(join(installed.previousData as string, 'appendonlydir')).find((file) =>
      file.includes('.base.'),
    ) as string;
    writeFileSync(join(dir, 'appendonlydir', oldBase), 'something else');
    await expect(
      reinstatePreviousData({ dataDir: dir, previousData: installed.previousData as string }),
    ).rejects.toThrow(/the restored data is still in place: .* exists and is not the previous data's/);
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(40);
  });

  it('an NFS rename that switched but reported an error: the undo completes, and Redis loads the previous data', async () => {
    const dir = await scratch.oldDataDir(25);
    const installed = await install(dir);
    // EFS can apply a rename and still answer with an error (a retried NFS request finds the source
    // gone). The manifest switch behaves so here.
    const fsPromises = require('node:fs/promises') as typeof import('node:fs/promises');
    const realRename = fsPromises.rename;
    let reportedError = false;
    const spy = jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
      await realRename(from, to);
      if (String(to).endsWith('appendonly.aof.manifest')) {
        reportedError = true;
        throw Object.assign(new Error(`ENOENT: no such file or directory, rename '${String(from)}'`), {
          code: 'ENOENT',
        });
      }
    });
    let result: Awaited<ReturnType<typeof reinstatePreviousData>>;
    try {
      result = await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData as string });
    } finally {
      spy.mockRestore();
    }
    expect(reportedError).toBe(true);
    expect(result.reinstated).toBe(true);
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(25);
    expect(await redis.client().get('old:3')).toBe('old value 3');
  });

  it('undoing a restore into a directory that held no data brings back exactly that: an empty Redis', async () => {
    const dir = scratch.dir('empty-before');
    const installed = await install(dir);
    expect(installed.heldData).toBe(false);
    const restored = await scratch.redis(dir);
    expect(await restored.client().dbsize()).toBe(40);
    await scratch.stop(restored);

    const result = await reinstatePreviousData({ dataDir: dir, previousData: installed.previousData });
    expect(result.reinstated).toBe(true);
    const after = await scratch.redis(dir);
    expect(await after.client().dbsize()).toBe(0);
    // The rejected snapshot is set aside, not deleted.
    expect(readdirSync(join(result.setAside as string, 'appendonlydir'))).toContain(
      'appendonly.aof.1.base.rdb',
    );
  });

  it('refuses while a Redis runs on the directory', async () => {
    const dir = await scratch.oldDataDir(5);
    const installed = await install(dir);
    await scratch.redis(dir);
    await expect(
      reinstatePreviousData({ dataDir: dir, previousData: installed.previousData as string }),
    ).rejects.toThrow(RestoreError);
  });
});
