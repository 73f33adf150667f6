/**
 * Redis 7's multi-part AOF manifest (`appendonlydir/appendonly.aof.manifest`): the file that tells
 * Redis, started with `appendonly yes`, which files make up its data. One line per file:
 * `file <name> seq <n> type <b|h|i>` (base, history, incremental).
 */
export interface ManifestEntry {
  readonly file: string;
  readonly seq: number;
  readonly type: 'b' | 'h' | 'i';
}

export const APPEND_DIRNAME = 'appendonlydir';
export const APPEND_FILENAME = 'appendonly.aof';
export const MANIFEST_NAME = `${APPEND_FILENAME}.manifest`;

export function parseManifest(text: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^file (\S+) seq (\d+) type ([bhi])$/.exec(line.trim());
    if (!match) throw new Error(`unreadable AOF manifest line: ${JSON.stringify(line)}`);
    entries.push({
      file: match[1] as string,
      seq: Number(match[2]),
      type: match[3] as ManifestEntry['type'],
    });
  }
  return entries;
}

export function formatManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((entry) => `file ${entry.file} seq ${entry.seq} type ${entry.type}\n`).join('');
}

/** `appendonly.aof.<seq>.base.rdb|base.aof|incr.aof`: the sequence number, else undefined. */
function sequenceOf(fileName: string): number | undefined {
  const match = /^appendonly\.aof\.(\d+)\.(base\.rdb|base\.aof|incr\.aof)$/.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

/**
 * The manifest that makes an RDB file the whole dataset: it is the base (Redis 7 loads an RDB
 * base through its preamble logic) followed by an empty incremental AOF for new writes.
 * Sequence numbers continue after every one in use, by the manifest (`existing`) AND by the file
 * names in appendonlydir (`fileNames`): a manifest can be empty or older than the files (an undone
 * restore leaves its names behind), and reusing a name would write into a hard link of kept data.
 */
export function manifestForSnapshot(
  existing: readonly ManifestEntry[],
  fileNames: readonly string[] = [],
): ManifestEntry[] {
  const used = [
    ...existing.map((entry) => entry.seq),
    ...existing.map((entry) => sequenceOf(entry.file) ?? 0),
    ...fileNames.map((name) => sequenceOf(name) ?? 0),
  ];
  const seq = Math.max(0, ...used) + 1;
  return [
    { file: `${APPEND_FILENAME}.${seq}.base.rdb`, seq, type: 'b' },
    { file: `${APPEND_FILENAME}.${seq}.incr.aof`, seq, type: 'i' },
  ];
}
