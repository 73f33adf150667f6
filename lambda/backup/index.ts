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
