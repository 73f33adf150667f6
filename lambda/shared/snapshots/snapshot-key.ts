/**
 * Snapshot object keys: `<prefix>/<stage>/YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.rdb` (UTC), so that keys
 * sort in time order and a day's snapshots share a "folder".
 */

const KEY_PATTERN =
  /(?:^|\/)([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.rdb$/;

/** `prefix` without leading/trailing slashes ('' for none). */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+|\/+$/g, '');
}

/** The folder holding a stage's snapshots, with a trailing slash: `backups/dev/`. */
export function stagePrefix(prefix: string | undefined, stage: string): string {
  const base = normalizePrefix(prefix);
  return `${base === '' ? '' : `${base}/`}${stage}/`;
}

/** `20261125T020000Z` */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The object key of a snapshot started at `date`. */
export function snapshotKey(prefix: string | undefined, stage: string, date: Date): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stage)) {
    throw new Error(`invalid stage ${JSON.stringify(stage)}: use letters, digits, '-', '_' or '.'`);
  }
  if (Number.isNaN(date.getTime())) throw new Error('invalid snapshot date');
  const iso = date.toISOString();
  return `${stagePrefix(prefix, stage)}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${compactTimestamp(date)}.rdb`;
}

/** The stage and time encoded in a snapshot key, or undefined for any other key. */
export function parseSnapshotKey(key: string): { stage: string; time: Date } | undefined {
  const m = KEY_PATTERN.exec(key);
  if (!m) return undefined;
  const [, stage, y, mo, d, y2, mo2, d2, h, mi, s] = m as unknown as string[];
  if (y !== y2 || mo !== mo2 || d !== d2 || stage === undefined) return undefined;
  const time = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  if (Number.isNaN(time.getTime())) return undefined;
  return { stage, time };
}

/** The key prefix the backup function writes under, and the commands' default `--prefix`. */
export const DEFAULT_SNAPSHOT_PREFIX = 'snapshots';
