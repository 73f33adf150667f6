export {
  type BackupDeps,
  BackupError,
  type BackupLogger,
  type BackupMetrics,
  type BackupResult,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  deadlineSignal,
  runBackup,
} from './backup';
export { countKeys, type RedisFacts, readRedisFacts } from './redis-facts';
export { DEFAULT_SNAPSHOT_PREFIX, parseSnapshotKey, snapshotKey, stagePrefix } from './snapshot-key';
export { type ListSnapshotsOptions, listSnapshots, type SnapshotInfo } from './snapshots';
