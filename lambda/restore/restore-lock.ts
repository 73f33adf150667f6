import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** A takeover waits this long, then checks that its own lock is the one that stayed. */
const TAKEOVER_SETTLE_MS = 1_000;
/** A takeover whose check and replace took longer than this cannot trust its check: it gives up. */
const TAKEOVER_WINDOW_MS = 300;

/** What the work gets: warnings to report, and a check to run before each irreversible step. */
export interface HeldLock {
  readonly warnings: string[];
  /** Why the lock is no longer this holder's (it stalled and was taken over), or undefined while it holds it. */
  lost(): Promise<string | undefined>;
  /** Throws a RestoreError with that reason when the lock was lost. */
  assertHeld(): Promise<void>;
}

/**
 * Runs `work` holding `<dataDir>/.restore.lock`, created exclusively (O_EXCL, which NFSv4 and so
 * EFS honour): one restore or undo at a time per data directory, and no Redis start meanwhile
 * (the entrypoint refuses while the lock is fresh). The holder touches it every 20 s; a lock left
 * untouched for 2 minutes (its holder died) may be taken over.
 *
 * The lock carries a random token: the holder touches and removes it only while the token is its
 * own, and `assertHeld()` lets the work stop before an irreversible step if it lost the lock. A
 * takeover never deletes: it renames its own lock file over the stale one (so a lock always
 * exists), right after checking it is still stale, then waits a second and proceeds only if its
 * token is the one that stayed; of contenders that all judged the lock stale, one wins.
 */
export async function withRestoreLock<T>(
  dataDir: string,
  what: string,
  work: (lock: HeldLock) => Promise<T>,
  {
    now = Date.now,
    heartbeatMs = RESTORE_LOCK_HEARTBEAT_MS,
  }: { now?: () => number; heartbeatMs?: number } = {},
): Promise<T> {
  const path = join(dataDir, RESTORE_LOCK_NAME);
  const warnings: string[] = [];
  const token = randomUUID();
  const holder = `${what} by pid ${process.pid} on ${hostname()} since ${new Date(now()).toISOString()} [${token}]\n`;
  if (!(await createLock(path, holder)))
    warnings.push(await takeOverIfStale(path, dataDir, holder, token, now));
  const ours = async () => (await readFile(path, 'utf8').catch(() => '')).includes(token);
  const heartbeat = setInterval(() => {
    const at = new Date(now());
    ours()
      .then((mine) => (mine ? utimes(path, at, at) : undefined))
      .catch(() => {});
  }, heartbeatMs);
  heartbeat.unref();
  const held: HeldLock = {
    warnings,
    async lost() {
      return (await ours())
        ? undefined
        : `lost ${path} (this ${what} stalled and another restore took the lock over): stopping before changing anything more`;
    },
    async assertHeld() {
      const reason = await held.lost();
      if (reason !== undefined) throw new RestoreError(reason);
    },
  };
  try {
    return await work(held);
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

/** Takes a stale lock over (see withRestoreLock) and returns the warning to report; throws when it cannot. */
async function takeOverIfStale(
  path: string,
  dataDir: string,
  holder: string,
  token: string,
  now: () => number,
): Promise<string> {
  const judged = await stat(path).catch(() => undefined);
  const owner = (await readFile(path, 'utf8').catch(() => '')).trim() || 'unknown';
  if (judged === undefined || now() - judged.mtimeMs < RESTORE_LOCK_STALE_MS)
    throw busy(path, dataDir, owner);
  const mine = `${path}.${token}`;
  if (!(await createLock(mine, holder))) throw busy(path, dataDir, owner);
  try {
    const checkedAt = performance.now();
    const again = await stat(path).catch(() => undefined);
    if (again === undefined || now() - again.mtimeMs < RESTORE_LOCK_STALE_MS) {
      throw busy(path, dataDir, 'another restore took the stale lock over first');
    }
    await rename(mine, path);
    const tookMs = performance.now() - checkedAt;
    await sleep(TAKEOVER_SETTLE_MS);
    const stayed = (await readFile(path, 'utf8').catch(() => '')).includes(token);
    if (!stayed || tookMs > TAKEOVER_WINDOW_MS) {
      if (stayed) await rm(path, { force: true });
      throw busy(path, dataDir, 'another restore took the stale lock over at the same time; retry');
    }
  } finally {
    await rm(mine, { force: true });
  }
  return `took over a stale ${path} (no heartbeat for ${Math.round((now() - judged.mtimeMs) / 1000)} s: ${owner})`;
}

function busy(path: string, dataDir: string, owner: string): RestoreError {
  return new RestoreError(
    `another restore or undo is working on ${dataDir} (${path}: ${owner}); wait for it to finish. ` +
      `If it died, its lock counts as stale ${RESTORE_LOCK_STALE_MS / 1000} s after its last heartbeat`,
  );
}
