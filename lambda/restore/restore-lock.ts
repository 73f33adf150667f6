import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RestoreError } from './restore-error';

/** The lock file a restore holds in the data directory; the entrypoint will not start Redis while it is fresh. */
export const RESTORE_LOCK_NAME = '.restore.lock';

/**
 * A lock older than this belongs to a restore that died (it runs in a Lambda of at most 15
 * minutes). docker/redis/entrypoint.sh uses the same 30 minutes.
 */
export const RESTORE_LOCK_STALE_MS = 30 * 60 * 1000;

/**
 * Runs `work` holding `<dataDir>/.restore.lock`, created exclusively (O_EXCL, which NFSv4 and so
 * EFS honour): one restore or undo at a time per data directory, and no Redis start meanwhile
 * (the entrypoint refuses while the lock is fresh). A stale lock is taken over with a warning.
 */
export async function withRestoreLock<T>(
  dataDir: string,
  what: string,
  work: (warnings: string[]) => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  const path = join(dataDir, RESTORE_LOCK_NAME);
  const warnings: string[] = [];
  const holder = `${what} by pid ${process.pid} on ${hostname()} since ${new Date(now()).toISOString()}\n`;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const ageMs = now() - (await stat(path)).mtimeMs;
    const owner = (await readFile(path, 'utf8').catch(() => '')).trim() || 'unknown';
    if (ageMs < RESTORE_LOCK_STALE_MS) {
      throw new RestoreError(
        `another restore or undo is working on ${dataDir} (${path}: ${owner}); wait for it to finish. ` +
          `If it died, the lock is ignored ${Math.round(RESTORE_LOCK_STALE_MS / 60_000)} minutes after it was taken`,
      );
    }
    warnings.push(`took over a stale ${path} (${Math.round(ageMs / 60_000)} min old: ${owner})`);
    await rm(path, { force: true });
    handle = await open(path, 'wx');
  }
  try {
    await handle.writeFile(holder);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    return await work(warnings);
  } finally {
    await rm(path, { force: true });
  }
}
