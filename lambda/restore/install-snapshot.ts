import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type RdbVerification, RdbVerifier, type RdbVerifierOptions } from '../shared/rdb';
import { compactTimestamp } from '../shared/snapshots/snapshot-key';
import {
  APPEND_DIRNAME,
  formatManifest,
  MANIFEST_NAME,
  type ManifestEntry,
  manifestForSnapshot,
  parseManifest,
} from './aof-manifest';
import { syncDirectory, writeDurably } from './durable-fs';
import { redisProcessesUsing } from './redis-presence';
import { RestoreError } from './restore-error';
import { type HeldLock, withRestoreLock } from './restore-lock';

export interface InstallSnapshotOptions {
  /** The Redis data directory (`/data` in the container): holds appendonlydir/ and dump.rdb. */
  readonly dataDir: string;
  /** The snapshot's bytes, e.g. an S3 GetObject body. Read once, streamed, never held whole. */
  readonly snapshot: Readable;
  /** Where the snapshot comes from, for messages (`s3://bucket/key`). */
  readonly source: string;
  /** Clock for the name of the folder the old data moves to. @default the current time */
  readonly now?: Date;
  /** Newest RDB format the target Redis can load. @default the verifier's MAX_RDB_VERSION (10) */
  readonly maxRdbVersion?: number;
  /** Accept a snapshot without a checksum (see RdbVerifierOptions). @default false */
  readonly allowMissingChecksum?: boolean;
  /** Called once the snapshot is downloaded and verified, before the install changes anything. */
  readonly onVerified?: (verification: RdbVerification) => void;
}

export interface InstallSnapshotResult extends RdbVerification {
  /** The snapshot, installed as the base of the AOF that Redis will load. */
  readonly installedAs: string;
  /**
   * Where the previous data went (`<dataDir>/pre-restore-<time>`). Made even when the directory
   * held no Redis data (then empty): undoing the restore then brings back exactly that, an empty
   * Redis, instead of leaving the snapshot in place.
   */
  readonly previousData: string;
  /** Whether the directory held Redis data (appendonlydir files or a dump.rdb) before the restore. */
  readonly heldData: boolean;
  /** Problems after the switch that did not affect what Redis loads (a leftover file). */
  readonly warnings: readonly string[];
}

// Kept importable from here, where the restore's callers have always found it.
export { RestoreError } from './restore-error';

const DUMP_NAME = 'dump.rdb';
const PARTIAL_PREFIX = '.restore-';
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Installs an RDB snapshot so that the project's Redis, started with its production configuration
 * (`appendonly yes`), loads exactly that snapshot.
 *
 * The restore trap: with `appendonly yes` Redis 7 loads only the AOF, so a `dump.rdb` dropped in
 * the directory is ignored (and with no AOF at all Redis starts empty). Here the snapshot becomes
 * the BASE file of the AOF manifest, which is what Redis loads.
 *
 * Order of work, so that an interruption at any point leaves either the old or the new data:
 * 1. stream the snapshot to a temp file in the directory, verifying magic, version and CRC64 on the
 *    way; a bad snapshot is deleted and nothing else is touched;
 * 2. hard-link the current files (appendonlydir/*, dump.rdb) into `pre-restore-<time>/`;
 * 3. put the verified file and an empty incremental AOF into appendonlydir under new names;
 * 4. atomically rename a new manifest over the old one: the single switch from old to new data;
 * 5. remove the old names from appendonlydir and dump.rdb (their copies stay in pre-restore-<time>).
 */
export async function installSnapshot(options: InstallSnapshotOptions): Promise<InstallSnapshotResult> {
  const { dataDir, source } = options;
  if (!existsSync(dataDir)) throw new RestoreError(`data directory ${dataDir} does not exist`);
  // One restore or undo at a time, and no Redis start meanwhile (restore-lock.ts).
  return withRestoreLock(dataDir, `restore of ${source}`, async (lock) => {
    const result = await installLocked(options, lock);
    return { ...result, warnings: [...lock.warnings, ...result.warnings] };
  });
}

async function installLocked(
  options: InstallSnapshotOptions,
  lock: HeldLock,
): Promise<InstallSnapshotResult> {
  const { dataDir, source } = options;
  const now = options.now ?? new Date();
  const running = redisProcessesUsing(dataDir);
  if (running.length > 0) {
    throw new RestoreError(
      `redis-server (pid ${running.join(', ')}) is running on ${dataDir}: stop it first; restoring under a running Redis would be overwritten by its next save`,
    );
  }
  await removeStalePartials(dataDir);

  // 1. Download + verify into a temp name inside the data directory (same file system: the later
  //    rename is atomic; nothing of the old data is touched yet).
  const partial = join(dataDir, `${PARTIAL_PREFIX}${compactTimestamp(now)}.rdb.partial`);
  const verification = await downloadVerified(options.snapshot, partial, source, {
    ...(options.maxRdbVersion !== undefined && { maxVersion: options.maxRdbVersion }),
    allowMissingChecksum: options.allowMissingChecksum ?? false,
  });
  options.onVerified?.(verification);

  // 2. Keep the old data: hard links, instant and without copying, in a dated folder.
  await lock.assertHeld();
  const aofDir = join(dataDir, APPEND_DIRNAME);
  const manifestPath = join(aofDir, MANIFEST_NAME);
  const oldAofFiles = existsSync(aofDir) ? await readdir(aofDir) : [];
  const warnings: string[] = [];
  let oldManifest: ManifestEntry[] = [];
  if (oldAofFiles.includes(MANIFEST_NAME)) {
    try {
      oldManifest = parseManifest(await readFile(manifestPath, 'utf8'));
    } catch (error) {
      // A torn manifest is one reason to restore (Redis refuses to start on it). The new sequence
      // numbers come from the file names too, and the manifest is kept as it was with the old data.
      warnings.push(
        `the old AOF manifest ${manifestPath} was unreadable (${(error as Error).message}); it is kept as it was with the old data`,
      );
    }
  }
  const hadDump = existsSync(join(dataDir, DUMP_NAME));
  const entries = manifestForSnapshot(oldManifest, oldAofFiles);
  const [base, incr] = entries as [ManifestEntry, ManifestEntry];
  const previousData = join(dataDir, `pre-restore-${compactTimestamp(now)}`);
  const heldData = oldAofFiles.length > 0 || hadDump;
  // The files this install made in appendonlydir: the only ones a failure may remove.
  const created: string[] = [];
  try {
    await mkdir(previousData, { recursive: true });
    if (oldAofFiles.length > 0) {
      await mkdir(join(previousData, APPEND_DIRNAME), { recursive: true });
      for (const file of oldAofFiles)
        await link(join(aofDir, file), join(previousData, APPEND_DIRNAME, file));
    }
    if (hadDump) await link(join(dataDir, DUMP_NAME), join(previousData, DUMP_NAME));

    // 3. The snapshot becomes the base of a new manifest, beside the old files.
    // Never over an existing name (link and 'wx' fail instead): it could be a hard link of the
    // data kept in previousData, which the write would change too.
    await mkdir(aofDir, { recursive: true });
    await link(partial, join(aofDir, base.file));
    created.push(join(aofDir, base.file));
    await rm(partial);
    await writeFile(join(aofDir, incr.file), '', { flag: 'wx' });
    created.push(join(aofDir, incr.file));
    await writeDurably(`${manifestPath}.restore-tmp`, formatManifest(entries));

    // 4. The switch: one rename.
    await lock.assertHeld();
    await rename(`${manifestPath}.restore-tmp`, manifestPath);
  } catch (error) {
    // On NFS (EFS) a rename can succeed on the server and still report an error: what counts is
    // what the manifest names now. If it names the snapshot, the switch happened: never delete.
    if (!(await manifestNames(manifestPath, base.file))) {
      // Before the switch the old manifest still names the old files: Redis loads the old data.
      for (const file of [partial, ...created, `${manifestPath}.restore-tmp`]) {
        await rm(file, { force: true });
      }
      throw new RestoreError(
        `installing ${source} into ${dataDir} failed, the old data is still in place: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  await syncDirectory(aofDir).catch((error: Error) =>
    warnings.push(`the snapshot is installed, but fsync of ${aofDir} failed: ${error.message}`),
  );

  // 5. Tidy up the old names; their data lives on in previousData. A failure here changes nothing
  //    Redis loads (the manifest no longer names these files), so it is a warning, not a failure.
  const keep = new Set([MANIFEST_NAME, base.file, incr.file]);
  const leftovers = [
    ...oldAofFiles.filter((file) => !keep.has(file)).map((file) => join(aofDir, file)),
    ...(hadDump ? [join(dataDir, DUMP_NAME)] : []),
  ];
  // If this install stalled and another restore took the directory over meanwhile, its files are
  // not ours to tidy: the switch happened, the old names are left as they are.
  const lost = await lock.lost();
  if (lost !== undefined) warnings.push(`left the tidy-up undone: ${lost}`);
  for (const file of lost === undefined ? leftovers : []) {
    await rm(file, { force: true }).catch((error: Error) =>
      warnings.push(`could not remove ${file}: ${error.message}`),
    );
  }
  await syncDirectory(dataDir).catch(() => undefined);
  return { ...verification, installedAs: join(aofDir, base.file), previousData, heldData, warnings };
}

async function downloadVerified(
  snapshot: Readable,
  partial: string,
  source: string,
  verifierOptions: RdbVerifierOptions,
): Promise<RdbVerification> {
  const verifier = new RdbVerifier(verifierOptions);
  // The file is opened before streaming starts, and on failure removed only once the stream has
  // closed it: otherwise a late open could re-create the temp file after its removal.
  const handle = await open(partial, 'wx');
  // 1 MiB buffer: with the default 16 KiB every verified chunk (~64 KiB) hits backpressure, and the
  // round trips made a 500 MB restore ~70% slower than the plain download (bench:restore).
  const file = handle.createWriteStream({ highWaterMark: 1024 * 1024 });
  // Flush to disk as the download goes (every 64 MiB, in the background), so that the final fsync
  // that makes the file durable before the switch has little left to write.
  const flusher = await open(partial, 'r');
  const flushes: Promise<void>[] = [];
  let unflushed = 0;
  const flushAsWeGo = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      unflushed += chunk.length;
      if (unflushed >= FLUSH_EVERY_BYTES) {
        unflushed = 0;
        flushes.push(flusher.datasync().catch(() => undefined)); // a hint: the final sync decides
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(snapshot, verifier, flushAsWeGo, file);
    await Promise.all(flushes);
    await flusher.sync();
  } catch (error) {
    await Promise.all(flushes);
    if (!file.closed) await once(file, 'close').catch(() => undefined);
    await rm(partial, { force: true });
    throw new RestoreError(`snapshot ${source} refused, nothing was changed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await flusher.close().catch(() => undefined);
  }
  const result = verifier.result;
  if (!result) {
    await rm(partial, { force: true });
    throw new RestoreError(`snapshot ${source} refused, nothing was changed: verification did not complete`);
  }
  return result;
}

/** Temp files of an earlier restore that was interrupted mid-download. */
async function removeStalePartials(dataDir: string): Promise<void> {
  for (const file of await readdir(dataDir)) {
    if (file.startsWith(PARTIAL_PREFIX) && file.endsWith('.partial'))
      await rm(join(dataDir, file), { force: true });
  }
}

/** Whether the manifest at `path` names `file` (false when it cannot be read). */
async function manifestNames(path: string, file: string): Promise<boolean> {
  try {
    return parseManifest(await readFile(path, 'utf8')).some((entry) => entry.file === file);
  } catch {
    return false;
  }
}
