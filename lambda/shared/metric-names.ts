/**
 * Names shared by the metrics function (which publishes) and the CDK monitoring construct (whose
 * alarms and dashboard read), so a metric and its alarm cannot drift apart. The namespace and the
 * Stage dimension are in lambda/shared/observability.ts.
 */

/**
 * Powertools Metrics adds a `service` dimension (its serviceName) to every metric it publishes,
 * next to Stage: an alarm must name BOTH dimensions, or it watches a metric that never gets data.
 */
export const SERVICE_DIMENSION = 'service';

/** serviceName of the metrics function (createObservability). */
export const METRICS_SERVICE = 'redis-metrics';

/** serviceName of the backup function (lambda/backup/handler.ts, BackupSucceeded/BackupFailed/...). */
export const BACKUP_SERVICE = 'redis-backup';

/** Extra dimension of the per-database key counts. */
export const DATABASE_DIMENSION = 'Database';

/** Extra dimension of the Celery queue lengths. */
export const QUEUE_DIMENSION = 'Queue';

/** Every metric the metrics function publishes (namespace METRICS_NAMESPACE). */
export const METRIC = {
  /** 1 when Redis answered INFO, 0 when it could not be sampled (unreachable, auth refused, no password). */
  RedisUp: 'RedisUp',
  /** Seconds since Redis started (drops at every restart). */
  UptimeSeconds: 'UptimeSeconds',
  /** Keys evicted during the interval (maxmemory reached under an evicting policy). */
  EvictedKeys: 'EvictedKeys',
  /** Redis's cumulative evicted_keys since it started (no state needed to read it). */
  EvictedKeysSinceStart: 'EvictedKeysSinceStart',
  /** Keys expired during the interval. */
  ExpiredKeys: 'ExpiredKeys',
  /** Connections refused during the interval (maxclients reached). */
  RejectedConnections: 'RejectedConnections',
  /** Successful key lookups during the interval. */
  KeyspaceHits: 'KeyspaceHits',
  /** Failed key lookups during the interval. */
  KeyspaceMisses: 'KeyspaceMisses',
  /** hits / (hits + misses) during the interval, in %. */
  HitRate: 'HitRate',
  /** Commands per second: the interval's average when known, else Redis's instantaneous value. */
  OpsPerSecond: 'OpsPerSecond',
  /** used_memory. */
  UsedMemory: 'UsedMemory',
  /** used_memory_rss: what the task's memory limit sees. */
  UsedMemoryRss: 'UsedMemoryRss',
  /** maxmemory. */
  MaxMemory: 'MaxMemory',
  /** used_memory / maxmemory in % (ElastiCache's DatabaseMemoryUsagePercentage). */
  MemoryUsedPercent: 'MemoryUsedPercent',
  /** mem_fragmentation_ratio (RSS / used). */
  FragmentationRatio: 'FragmentationRatio',
  /** mem_fragmentation_bytes (RSS - used). */
  FragmentationBytes: 'FragmentationBytes',
  ConnectedClients: 'ConnectedClients',
  BlockedClients: 'BlockedClients',
  /** Keys in all databases; with the Database dimension, in one database (DBSIZE). */
  Keys: 'Keys',
  /** 1 when the last RDB save (BGSAVE) succeeded, else 0. */
  RdbLastBgsaveOk: 'RdbLastBgsaveOk',
  /** 1 when the last AOF write succeeded, else 0 (AOF enabled only). */
  AofLastWriteOk: 'AofLastWriteOk',
  /** 1 when the last AOF rewrite succeeded, else 0 (AOF enabled only). */
  AofLastRewriteOk: 'AofLastRewriteOk',
  /** Seconds since the last successful RDB save. */
  SecondsSinceLastSave: 'SecondsSinceLastSave',
  /** Changes not yet in an RDB save (rdb_changes_since_last_save). */
  UnsavedChanges: 'UnsavedChanges',
  /** aof_current_size (AOF enabled only). */
  AofSize: 'AofSize',
  /** Messages waiting in a Celery queue (Queue dimension). */
  CeleryQueueLength: 'CeleryQueueLength',
  /**
   * Hours since the newest snapshot in the backup bucket was taken (from its key). When there is
   * none within the look-back, the look-back itself: the snapshot is at least that old.
   */
  LatestSnapshotAgeHours: 'LatestSnapshotAgeHours',
  /** A Redis task stopped for another reason than a deployment (crash, health check, OOM, Fargate). */
  UnexpectedTaskStops: 'UnexpectedTaskStops',
  /** Days until the TLS certificate Redis serves expires (TLS stages only). */
  TlsCertificateDaysLeft: 'TlsCertificateDaysLeft',
} as const;

/** Metrics of the backup function (lambda/backup/backup.ts), read by the backup alarms and dashboard. */
export const BACKUP_METRIC = {
  BackupSucceeded: 'BackupSucceeded',
  BackupFailed: 'BackupFailed',
  BackupBytes: 'BackupBytes',
  BackupDurationMs: 'BackupDurationMs',
} as const;
