import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compactTimestamp } from '../shared/snapshots/snapshot-key';
import { APPEND_DIRNAME, MANIFEST_NAME } from './aof-manifest';
import { syncDirectory, writeDurably } from './durable-fs';
import { redisProcessesUsing } from './redis-presence';
import { RestoreError } from './restore-error';
import { type HeldLock, withRestoreLock } from './restore-lock';

export interface ReinstateOptions {
  /** The Redis data directory the snapshot was installed into. */
  readonly dataDir: string;
  /** The folder installSnapshot moved the old data to (`<dataDir>/pre-restore-<time>`). */
  readonly previousData: string;
  /** Clock for the name of the folder the replaced data moves to. @default the current time */
  readonly now?: Date;
}

export interface ReinstateResult {
  /** True when the previous data was switched back in; false when it was still in place. */
  readonly reinstated: boolean;
  /** Why nothing had to be done (reinstated: false). */
  readonly reason?: string;
  /** The folder the previous data came from. */
  readonly previousData: string;
  /** Where the data it replaced (the restored snapshot) went: `<dataDir>/undone-restore-<time>`. */
  readonly setAside?: string;
  /** Problems after the switch that do not affect what Redis loads (a leftover file). */
  readonly warnings: readonly string[];
}

const DUMP_NAME = 'dump.rdb';

/**
 * Written into the previous-data folder once it is back in place. After that, Redis runs on
 * those files (they are hard links) and changes them: undoing again would roll back every write
 * made since, so a second undo of the same restore does nothing.
 */
export const UNDONE_MARKER = 'UNDONE';

/** Written into the previous-data folder just before the switch back: names the set-aside folder. */
const UNDOING_MARKER = 'UNDOING';

/** The folder installSnapshot moves the old data to for a restore started at `restoreTime`. */
export function previousDataFolder(dataDir: string, restoreTime: Date): string {
  return join(dataDir, `pre-restore-${compactTimestamp(restoreTime)}`);
}

/**
 * Undoes a restore: puts the data that installSnapshot moved aside into `previousData` back, so
 * that Redis (appendonly yes) loads it again. The same discipline as the install:
 *
 * 1. nothing to do when the current manifest is the previous one (the install never switched);
 * 2. hard-link the current files (the restored data) into `undone-restore-<time>/`: never deleted;
 * 3. hard-link the previous AOF files back into appendonlydir under their own names (the install
 *    gave the snapshot higher sequence numbers, so the names are free);
 * 4. the switch, atomic: rename the previous manifest over the current one (or, if the previous
 *    data had no AOF at all, remove the manifest: Redis then starts as it would have before);
 * 5. put dump.rdb back (rename), remove the restored files' names from appendonlydir.
 *
 * An interruption before step 4 leaves the restored data loaded; after it, the previous data.
 */
export async function reinstatePreviousData(options: ReinstateOptions): Promise<ReinstateResult> {
  const { dataDir, previousData } = options;
  if (!existsSync(previousData)) {
    throw new RestoreError(`cannot undo the restore: ${previousData} does not exist`);
  }
  // One restore or undo at a time, and no Redis start meanwhile (restore-lock.ts).
  return withRestoreLock(dataDir, `undo from ${previousData}`, async (lock) => {
    const result = await reinstateLocked(options, lock);
    return { ...result, warnings: [...lock.warnings, ...result.warnings] };
  });
}

async function reinstateLocked(options: ReinstateOptions, lock: HeldLock): Promise<ReinstateResult> {
  const { dataDir, previousData } = options;
  const now = options.now ?? new Date();
  const marker = join(previousData, UNDONE_MARKER);
  if (existsSync(marker)) {
    return {
      reinstated: false,
      reason: `this restore was already undone (${(await readFile(marker, 'utf8')).trim()}); Redis may have taken writes on that data since, so it is not rolled back again`,
      previousData,
      warnings: [],
    };
  }
  const running = redisProcessesUsing(dataDir);
  if (running.length > 0) {
    throw new RestoreError(
      `redis-server (pid ${running.join(', ')}) is running on ${dataDir}: stop it before putting the previous data back`,
    );
  }

  const aofDir = join(dataDir, APPEND_DIRNAME);
  const manifestPath = join(aofDir, MANIFEST_NAME);
  const previousAofDir = join(previousData, APPEND_DIRNAME);
  const previousFiles = existsSync(previousAofDir) ? await readdir(previousAofDir) : [];
  const previousManifest = await readIfExists(join(previousAofDir, MANIFEST_NAME));
  const currentManifest = await readIfExists(manifestPath);
  const previousDump = join(previousData, DUMP_NAME);
  const hadDump = existsSync(previousDump);

  // An earlier undo that switched back and stopped before tidying up: finish its tidy-up.
  const undoing = join(previousData, UNDOING_MARKER);
  if (currentManifest === previousManifest && existsSync(undoing)) {
    const setAside = (await readFile(undoing, 'utf8')).trim();
    const finished = await finishUndo({ dataDir, previousData, setAside, previousFiles, hadDump, now, lock });
    return {
      ...finished,
      warnings: [
        'an earlier undo had switched back and stopped before tidying up: finished it',
        ...finished.warnings,
      ],
    };
  }

  // 1. The install never switched: what Redis loads is still the previous data.
  if (currentManifest === previousManifest) {
    return {
      reinstated: false,
      reason: 'the previous data is still in place: the restore had not switched to the snapshot',
      previousData,
      warnings: [],
    };
  }

  // 2. Keep what is there now (the restored data) beside it, as hard links.
  const currentFiles = existsSync(aofDir) ? await readdir(aofDir) : [];
  const currentDump = join(dataDir, DUMP_NAME);
  const setAside = join(dataDir, `undone-restore-${compactTimestamp(now)}`);
  await mkdir(join(setAside, APPEND_DIRNAME), { recursive: true });
  for (const file of currentFiles) {
    await linkFresh(join(aofDir, file), join(setAside, APPEND_DIRNAME, file));
  }
  if (existsSync(currentDump)) await linkFresh(currentDump, join(setAside, DUMP_NAME));

  // 3. The previous files, back under their names.
  await mkdir(aofDir, { recursive: true });
  const restoredNames: string[] = [];
  try {
    for (const file of previousFiles) {
      if (file === MANIFEST_NAME) continue;
      const source = join(previousAofDir, file);
      const target = join(aofDir, file);
      if (existsSync(target)) {
        if (await sameFile(source, target)) continue;
        throw new Error(`${target} exists and is not the previous data's ${file}`);
      }
      await link(source, target);
      restoredNames.push(target);
    }

    // 4. The switch.
    await lock.assertHeld();
    await writeDurably(undoing, `${setAside}\n`);
    if (previousManifest !== undefined) {
      const temp = `${manifestPath}.reinstate-tmp`;
      await writeDurably(temp, previousManifest);
      await rename(temp, manifestPath);
    } else {
      await rm(manifestPath, { force: true });
    }
  } catch (error) {
    // On NFS (EFS) a rename can succeed on the server and still report an error: what counts is
    // what the manifest says now. If it is the previous one, the switch happened: the files it
    // names must stay, and the undo goes on.
    if ((await readIfExists(manifestPath)) !== previousManifest) {
      for (const file of [...restoredNames, `${manifestPath}.reinstate-tmp`]) await rm(file, { force: true });
      throw new RestoreError(
        `putting ${previousData} back into ${dataDir} failed, the restored data is still in place: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  // 5. dump.rdb and the restored files' names (their data lives on in setAside).
  return finishUndo({ dataDir, previousData, setAside, previousFiles, hadDump, now, lock });
}

/**
 * Step 5 of the undo, after the switch: marks the folder UNDONE, puts dump.rdb back and removes the
 * restored files' names from appendonlydir (their data lives on in `setAside`). Safe to repeat.
 */
async function finishUndo(args: {
  dataDir: string;
  previousData: string;
  setAside: string;
  previousFiles: readonly string[];
  hadDump: boolean;
  now: Date;
  lock: HeldLock;
}): Promise<ReinstateResult> {
  const { dataDir, previousData, setAside, previousFiles, hadDump, now, lock } = args;
  const aofDir = join(dataDir, APPEND_DIRNAME);
  const currentDump = join(dataDir, DUMP_NAME);
  const previousDump = join(previousData, DUMP_NAME);
  const warnings: string[] = [];
  await writeDurably(
    join(previousData, UNDONE_MARKER),
    `at ${now.toISOString()}, the restored data set aside in ${setAside}\n`,
  ).catch((error: Error) => warnings.push(`could not mark ${previousData} as undone: ${error.message}`));
  await syncDirectory(aofDir).catch((error: Error) =>
    warnings.push(`the previous data is back, but fsync of ${aofDir} failed: ${error.message}`),
  );
  const tidy = async (what: string, action: () => Promise<unknown>) => {
    await action().catch((error: Error) => warnings.push(`could not ${what}: ${error.message}`));
  };
  // If this undo stalled and another restore took the directory over meanwhile, its files are
  // not ours to tidy: the switch back happened, the rest is left as it is.
  const lost = await lock.lost();
  if (lost !== undefined) {
    return {
      reinstated: true,
      previousData,
      setAside,
      warnings: [...warnings, `left the tidy-up undone: ${lost}`],
    };
  }
  if (hadDump) {
    const temp = join(dataDir, `.${DUMP_NAME}.reinstate-tmp`);
    await tidy(`put back ${DUMP_NAME}`, async () => {
      await rm(temp, { force: true });
      await link(previousDump, temp);
      await rename(temp, currentDump);
    });
  } else {
    await tidy(`remove ${currentDump}`, () => rm(currentDump, { force: true }));
  }
  // Only the restored files' names: those this undo set aside (and that the previous data does
  // not use under the same name).
  const keep = new Set(previousFiles);
  const setAsideAof = join(setAside, APPEND_DIRNAME);
  const restored = existsSync(setAsideAof) ? await readdir(setAsideAof) : [];
  for (const file of restored.filter((name) => !keep.has(name))) {
    await tidy(`remove ${join(aofDir, file)}`, () => rm(join(aofDir, file), { force: true }));
  }
  await rm(join(previousData, UNDOING_MARKER), { force: true }).catch(() => undefined);
  await syncDirectory(dataDir).catch(() => undefined);
  return { reinstated: true, previousData, setAside, warnings };
}

async function readIfExists(path: string): Promise<string | undefined> {
  return existsSync(path) ? readFile(path, 'utf8') : undefined;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}

/** A hard link at `target`, replacing a stale one from an earlier, interrupted attempt. */
async function linkFresh(source: string, target: string): Promise<void> {
  await rm(target, { force: true });
  await link(source, target);
}
