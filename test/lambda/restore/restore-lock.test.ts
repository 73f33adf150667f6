import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreError } from '../../../lambda/restore/restore-error';
import { withRestoreLock } from '../../../lambda/restore/restore-lock';
import { sleep } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';

describe('withRestoreLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('restore-lock');
  });
  afterEach(() => removeTempDir(dir));

  it('keeps its lock fresh while it works (heartbeat), and removes it at the end, even on failure', async () => {
    const lock = join(dir, '.restore.lock');
    await withRestoreLock(
      dir,
      'restore of test',
      async () => {
        const old = new Date(Date.now() - 60_000);
        utimesSync(lock, old, old);
        await sleep(150);
        expect(Date.now() - statSync(lock).mtimeMs).toBeLessThan(1_000);
      },
      { heartbeatMs: 20 },
    );
    expect(existsSync(lock)).toBe(false);

    await expect(
      withRestoreLock(dir, 'restore that fails', async () => {
        throw new Error('download failed');
      }),
    ).rejects.toThrow('download failed');
    expect(existsSync(lock)).toBe(false);
  });

  it('of two contenders for a stale lock, exactly one gets in (6 rounds), and a lock always exists', async () => {
    for (let round = 0; round < 6; round++) {
      const lock = join(dir, '.restore.lock');
      writeFileSync(lock, 'restore of s3://b/k by pid 7 on a-dead-lambda\n');
      const old = new Date(Date.now() - 150_000);
      utimesSync(lock, old, old);
      let inside = 0;
      let most = 0;
      const work = async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(20);
        inside--;
      };
      const results = await Promise.allSettled([
        withRestoreLock(dir, 'undo A', work),
        sleep(round * 5).then(() => withRestoreLock(dir, 'undo B', work)),
      ]);
      expect(most).toBe(1);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(existsSync(lock)).toBe(false);
    }
  });

  it('a holder that was taken over (it stalled) is told so, and does not remove its successor’s lock', async () => {
    const lock = join(dir, '.restore.lock');
    let successor: Promise<void> = Promise.resolve();
    let lockWhileSuccessorWorks = false;
    let told: unknown;
    await withRestoreLock(
      dir,
      'restore that stalls',
      async (held) => {
        const old = new Date(Date.now() - 150_000);
        utimesSync(lock, old, old); // six missed heartbeats
        successor = withRestoreLock(dir, 'undo', async () => {
          await sleep(200);
          lockWhileSuccessorWorks = existsSync(lock);
        });
        await sleep(1_300); // the successor's takeover settles meanwhile
        told = await held.assertHeld().catch((error: unknown) => error);
      },
      { heartbeatMs: 1_000_000 },
    );
    await successor;
    expect(told).toBeInstanceOf(RestoreError);
    expect((told as Error).message).toMatch(
      /lost .*\.restore\.lock .*stopping before changing anything more/,
    );
    expect(lockWhileSuccessorWorks).toBe(true);
  });

  it('refuses a second holder while the first one lives, naming it', async () => {
    await withRestoreLock(dir, 'undo from pre-restore-20261125T030000Z', async () => {
      const error = await withRestoreLock(dir, 'restore of other', async () => 'ran').catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RestoreError);
      expect((error as Error).message).toMatch(
        /another restore or undo is working on .*undo from pre-restore-20261125T030000Z by pid \d+/,
      );
    });
  });
});
