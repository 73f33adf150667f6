/**
 * The snapshot catalog, shared by the backup (writes), restore (reads), metrics (age) and ops:
 * the key format, its parsing, the default prefix and the listing.
 */

export { type ListSnapshotsOptions, listSnapshots, type SnapshotInfo } from './list-snapshots';
export {
  compactTimestamp,
  DEFAULT_SNAPSHOT_PREFIX,
  normalizePrefix,
  parseSnapshotKey,
  snapshotKey,
  stagePrefix,
} from './snapshot-key';
