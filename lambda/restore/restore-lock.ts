import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
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
 *
 * The lock file carries a random token: the holder touches and removes it only while the token is
 * still its own, so a holder that was taken over cannot remove its successor's lock. A takeover
 * moves the stale file aside by rename and checks it moved the very file it judged stale (same
 * inode): of two contenders, the second puts back what it moved, and refuses.
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
  const token = randomUUID();
  const holder = `${what} by pid ${process.pid} on ${hostname()} since ${new Date(now()).toISOString()} [${token}]\n`;
  if (!(await createLock(path, holder))) {
    const takenOver = await takeOverIfStale(path, dataDir, now);
    warnings.push(takenOver);
    if (!(await createLock(path, holder)))
      throw busy(path, dataDir, 'another restore took the lock over first');
  }
  const ours = async () => (await readFile(path, 'utf8').catch(() => '')).includes(token);
  const heartbeat = setInterval(() => {
    const at = new Date(now());
    ours()
      .then((mine) => (mine ? utimes(path, at, at) : undefined))
      .catch(() => {});
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await work(warnings);
  } finally {
    clearInterval(heartbeat);
    // A failed release changes nothing the work did: the leftover lock goes stale in 120 s.
    if (await ours()) await rm(path, { force: true }).catch(() => {});
  }
}

/** Creates the lock with `holder` in it; false when it exists. A failed write leaves no lock behind. */
async function createLock(path: string, holder: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(holder);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/** Moves a stale lock aside and returns the warning to report; throws when the lock is alive. */
async function takeOverIfStale(path: string, dataDir: string, now: () => number): Promise<string> {
  const judged = await stat(path).catch(() => undefined);
  if (judged === undefined) return `${path} went away while it was checked`;
  const ageMs = now() - judged.mtimeMs;
  const owner = (await readFile(path, 'utf8').catch(() => '')).trim() || 'unknown';
  if (ageMs < RESTORE_LOCK_STALE_MS) throw busy(path, dataDir, owner);
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    throw busy(path, dataDir, 'another restore took the stale lock over first');
  }
  const moved = await stat(aside);
  if (moved.ino !== judged.ino || moved.dev !== judged.dev) {
    // Another contender had already replaced the stale lock with its own: put that one back.
    await link(aside, path).catch(() => {});
    await rm(aside, { force: true });
    throw busy(path, dataDir, 'another restore took the stale lock over first');
  }
  await rm(aside, { force: true });
  return `took over a stale ${path} (no heartbeat for ${Math.round(ageMs / 1000)} s: ${owner})`;
}

function busy(path: string, dataDir: string, owner: string): RestoreError {
  return new RestoreError(
    `another restore or undo is working on ${dataDir} (${path}: ${owner}); wait for it to finish. ` +
      `If it died, its lock counts as stale ${RESTORE_LOCK_STALE_MS / 1000} s after its last heartbeat`,
  );
}
