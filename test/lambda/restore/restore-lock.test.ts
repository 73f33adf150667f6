import { existsSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreError } from '../../../lambda/restore/restore-error';
import { withRestoreLock } from '../../../lambda/restore/restore-lock';
import { sleep } from '../../support/redis-process';
import { makeTempDir, removeTempDir } from '../../support/temp-dir';

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
