import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { normalizePrefix, parseSnapshotKey } from './snapshot-key';

export interface ListSnapshotsOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** The backups' key prefix (as given to runBackup). '' for the bucket root. */
  readonly prefix: string;
  /** Only this stage's snapshots. @default every stage under the prefix */
  readonly stage?: string;
  /** Return at most this many (the newest). @default all */
  readonly limit?: number;
  /** Read each snapshot's metadata (HeadObject: keys, versions). @default true */
  readonly withMetadata?: boolean;
  /** Keys per ListObjectsV2 page. @default 1000 (S3's maximum) */
  readonly pageSize?: number;
}

export interface SnapshotInfo {
  readonly key: string;
  readonly stage: string;
  /** When the backup started (from the key). */
  readonly time: Date;
  /** Object size in bytes. */
  readonly size: number;
  readonly lastModified?: Date;
  /** Keys in Redis when the backup started (metadata `keys`). */
  readonly keys?: number;
  readonly redisVersion?: string;
  readonly rdbVersion?: number;
}

/**
 * The snapshots under `prefix` (optionally one stage), newest first. Objects whose key does not
 * follow the snapshot pattern (`<stage>/YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.rdb`) are skipped.
 */
export async function listSnapshots(options: ListSnapshotsOptions): Promise<SnapshotInfo[]> {
  const base = normalizePrefix(options.prefix);
  const listPrefix = [base, options.stage].filter((part) => part !== undefined && part !== '').join('/');
  const found: SnapshotInfo[] = [];
  let token: string | undefined;
  do {
    const page = await options.s3.send(
      new ListObjectsV2Command({
        Bucket: options.bucket,
        ...(listPrefix !== '' && { Prefix: `${listPrefix}/` }),
        ...(options.pageSize !== undefined && { MaxKeys: options.pageSize }),
        ...(token !== undefined && { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      const parsed = parseSnapshotKey(object.Key);
      if (parsed === undefined) continue;
      if (options.stage !== undefined && parsed.stage !== options.stage) continue;
      found.push({
        key: object.Key,
        stage: parsed.stage,
        time: parsed.time,
        size: object.Size ?? 0,
        ...(object.LastModified !== undefined && { lastModified: object.LastModified }),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);

  found.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  const selected = options.limit === undefined ? found : found.slice(0, options.limit);
  if (options.withMetadata === false) return selected;
  return mapLimited(selected, 8, async (snapshot) => {
    const head = await options.s3.send(new HeadObjectCommand({ Bucket: options.bucket, Key: snapshot.key }));
    const meta = head.Metadata ?? {};
    return {
      ...snapshot,
      ...(meta.keys !== undefined && /^\d+$/.test(meta.keys) && { keys: Number(meta.keys) }),
      ...(meta['redis-version'] !== undefined && { redisVersion: meta['redis-version'] }),
      ...(meta['rdb-version'] !== undefined &&
        /^\d+$/.test(meta['rdb-version']) && { rdbVersion: Number(meta['rdb-version']) }),
    };
  });
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
