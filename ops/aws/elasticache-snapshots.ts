import { DescribeSnapshotsCommand, type ElastiCacheClient, type Snapshot } from '@aws-sdk/client-elasticache';
import { NO_CREDENTIALS } from '../cli-kit';

/** One of ElastiCache's own snapshots of a replication group, as `ops snapshots` shows it. */
export interface ElastiCacheSnapshotInfo {
  readonly name: string;
  /** `automated` (the daily snapshot, kept snapshotRetentionDays) or `manual`, as ElastiCache says. */
  readonly kind: string;
  /** `creating`, `available`, `restoring`, `copying`, `deleting`. */
  readonly status: string;
  /** When the node's data was taken (unknown while the snapshot is still being created). */
  readonly time?: Date;
  /** The size as ElastiCache reports it (`6 MB`), when it does. */
  readonly cacheSize?: string;
  readonly replicationGroupId: string;
  readonly engine?: string;
  readonly engineVersion?: string;
  readonly nodeType?: string;
}

export interface ListElastiCacheSnapshotsOptions {
  /** Snapshots per DescribeSnapshots page (20 to 50). @default 50 */
  readonly pageSize?: number;
}

/**
 * ElastiCache's snapshots of one replication group, automatic and manual, every page, newest first
 * (one still being created, without a time yet, before all).
 */
export async function listElastiCacheSnapshots(
  client: ElastiCacheClient,
  replicationGroupId: string,
  options: ListElastiCacheSnapshotsOptions = {},
): Promise<ElastiCacheSnapshotInfo[]> {
  const found: ElastiCacheSnapshotInfo[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new DescribeSnapshotsCommand({
        ReplicationGroupId: replicationGroupId,
        MaxRecords: options.pageSize ?? 50,
        ...(marker !== undefined && { Marker: marker }),
      }),
    );
    for (const snapshot of page.Snapshots ?? []) {
      // The filter is the API's; a snapshot of another group is not this stage's.
      if (snapshot.SnapshotName === undefined) continue;
      if (snapshot.ReplicationGroupId !== undefined && snapshot.ReplicationGroupId !== replicationGroupId)
        continue;
      found.push(describeSnapshot(snapshot, replicationGroupId));
    }
    marker = page.Marker === '' ? undefined : page.Marker;
  } while (marker !== undefined);
  return found.sort(newestFirst);
}

/** Newest first; one without a time (still being created) before all; then by name, descending. */
function newestFirst(a: ElastiCacheSnapshotInfo, b: ElastiCacheSnapshotInfo): number {
  const timeA = a.time?.getTime();
  const timeB = b.time?.getTime();
  if (timeA !== timeB) {
    if (timeA === undefined) return -1;
    if (timeB === undefined) return 1;
    return timeB - timeA;
  }
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

function describeSnapshot(snapshot: Snapshot, replicationGroupId: string): ElastiCacheSnapshotInfo {
  // Cluster mode disabled: one node group, one node snapshot (taken from a replica when there is one).
  const nodes = snapshot.NodeSnapshots ?? [];
  const times = nodes
    .map((node) => node.SnapshotCreateTime)
    .filter((time): time is Date => time !== undefined)
    .map((time) => new Date(time));
  const sizes = nodes.map((node) => node.CacheSize).filter((size): size is string => (size ?? '') !== '');
  const time = times.length > 0 ? new Date(Math.min(...times.map((t) => t.getTime()))) : undefined;
  return {
    name: snapshot.SnapshotName as string,
    kind: snapshot.SnapshotSource ?? 'unknown',
    status: snapshot.SnapshotStatus ?? 'unknown',
    ...(time !== undefined && { time }),
    ...(sizes.length > 0 && { cacheSize: sizes.join(' + ') }),
    replicationGroupId: snapshot.ReplicationGroupId ?? replicationGroupId,
    ...(snapshot.Engine !== undefined && { engine: snapshot.Engine }),
    ...(snapshot.EngineVersion !== undefined && { engineVersion: snapshot.EngineVersion }),
    ...(snapshot.CacheNodeType !== undefined && { nodeType: snapshot.CacheNodeType }),
  };
}

/** What an ElastiCache error means for the person, in one line naming the replication group. */
export function describeElastiCacheError(error: unknown, replicationGroupId: string, region: string): string {
  const e = error as Error & { Code?: string };
  const name = e.Code ?? e.name;
  const what = `the ElastiCache snapshots of ${replicationGroupId}`;
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(e.message ?? '')) {
    return NO_CREDENTIALS;
  }
  if (name === 'ReplicationGroupNotFoundFault' || name === 'CacheClusterNotFoundFault') {
    return `cannot list ${what}: no replication group ${replicationGroupId} in ${region} (is the stage deployed in this account and region?)`;
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'UnauthorizedOperation') {
    return `cannot list ${what}: access denied, these credentials need elasticache:DescribeSnapshots`;
  }
  return `cannot list ${what}: ${e.message || name}`;
}
