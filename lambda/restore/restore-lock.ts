import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RestoreError } from './restore-error';

/** The lock file a restore holds in the data directory; the entrypoint will not start Redis while it is fresh. */
export const RESTORE_LOCK_NAME = '.restore.lock';

/** While it works, the holder touches the lock this often (its modification time is a heartbeat). */
export const RESTORE_LOCK_HEARTBEAT_MS = 20_000;

/**
 * A lock not touched for this long belongs to a restore that died (a Lambda killed at its timeout
 * or out of memory): six missed heartbeats. docker/redis/entrypoint.sh uses the same 120 s.
 */
export const RESTORE_LOCK_STALE_MS = 120_000;

/**
 * Runs `work` holding `<dataDir>/.restore.lock`, created exclusively (O_EXCL, which NFSv4 and so
 * EFS honour): one restore or undo at a time per data directory, and no Redis start meanwhile
 * (the entrypoint refuses while the lock is fresh). The holder touches it every 20 s; a lock left
 * untouched for 2 minutes (its holder died) is taken over with a warning.
 */
export async function withRestoreLock<T>(
  dataDir: string,
  what: string,
  work: (warnings: string[]) => Promise<T>,
  {
    now = Date.now,
    heartbeatMs = RESTORE_LOCK_HEARTBEAT_MS,
  }: { now?: () => number; heartbeatMs?: number } = {},
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
          `If it died, its lock counts as stale ${RESTORE_LOCK_STALE_MS / 1000} s after its last heartbeat`,
      );
    }
    warnings.push(`took over a stale ${path} (no heartbeat for ${Math.round(ageMs / 1000)} s: ${owner})`);
    await rm(path, { force: true });
    handle = await open(path, 'wx');
  }
  try {
    await handle.writeFile(holder);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const heartbeat = setInterval(() => {
    const at = new Date(now());
    utimes(path, at, at).catch(() => {});
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await work(warnings);
  } finally {
    clearInterval(heartbeat);
    await rm(path, { force: true });
  }
}
