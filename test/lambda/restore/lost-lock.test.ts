import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

// The undo's first fsync of appendonlydir (right after its switch back) can be held, to stand for
// an EFS call that hangs for minutes: long enough for the restore lock to go stale.
let gate: Promise<void> | undefined;
let entered: () => void = () => {};
const enteredSync = new Promise<void>((resolve) => {
  entered = resolve;
});
jest.mock('../../../lambda/restore/durable-fs', () => {
  const real = jest.requireActual('../../../lambda/restore/durable-fs');
  return {
    ...real,
    syncDirectory: async (path: string) => {
      if (gate && path.endsWith('appendonlydir')) {
        const held = gate;
        gate = undefined;
        entered();
        await held;
      }
      return real.syncDirectory(path);
    },
  };
});

import { installSnapshot } from '../../../lambda/restore/install-snapshot';
import { reinstatePreviousData } from '../../../lambda/restore/reinstate';
import { RedisProcess } from '../../../ops/local/redis-process';
import { Scratch } from '../../support/scratch';
import { fetchRdb } from '../helpers/rdb';

describe('a restore that stalled and lost its lock', () => {
  const scratch = new Scratch();
  afterEach(() => scratch.cleanup());

  it('leaves the files of the restore that took over alone: Redis starts on that restore', async () => {
    const source = await RedisProcess.start();
    const pipeline = source.client().pipeline();
    for (let i = 0; i < 40; i++) pipeline.set(`snap:${i}`, `value ${i}`);
    await pipeline.exec();
    const snapshot = await fetchRdb(source.port);
    await source.cleanup();

    const dir = await scratch.oldDataDir(10);
    const first = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'first',
      now: new Date('2026-11-25T03:00:00Z'),
    });
    let release: () => void = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Undo A switches back, then hangs; its lock goes stale (no heartbeat for 200 s) and another
    // restore B takes it over and installs.
    const undo = reinstatePreviousData({ dataDir: dir, previousData: first.previousData });
    await enteredSync;
    const old = new Date(Date.now() - 200_000);
    utimesSync(join(dir, '.restore.lock'), old, old);
    const second = await installSnapshot({
      dataDir: dir,
      snapshot: Readable.from([snapshot]),
      source: 'second',
      now: new Date('2026-11-25T04:00:00Z'),
    });
    expect(second.warnings).toContainEqual(expect.stringMatching(/took over a stale/));
    release();
    const undone = await undo;

    expect(undone.warnings).toContainEqual(
      expect.stringMatching(/left the tidy-up undone: lost .*\.restore\.lock/),
    );
    expect(existsSync(second.installedAs)).toBe(true);
    expect(readdirSync(join(dir, 'appendonlydir'))).toContain('appendonly.aof.3.incr.aof');
    const redis = await scratch.redis(dir);
    expect(await redis.client().dbsize()).toBe(40);
  });
});
