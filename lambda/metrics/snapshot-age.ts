import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { METRIC } from '../shared/metric-names';
import { listSnapshots } from '../shared/snapshots/list-snapshots';
import { type MetricsLogger, publishPoints } from './collect';

export interface SnapshotAgeOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** The stage's snapshot folder, with its trailing slash: `snapshots/prod/`. */
  readonly stagePrefix: string;
  /** Look no further back than this: older snapshots count as "at least this old". */
  readonly lookbackHours: number;
  readonly now: Date;
  /** Keys per ListObjectsV2 page. @default 1000 (S3's maximum) */
  readonly pageSize?: number;
}

export interface SnapshotAge {
  /** Hours since the newest snapshot was taken; `lookbackHours` when there is none that recent. */
  readonly hours: number;
  /** The newest snapshot's key, when one was found within the look-back. */
  readonly key?: string;
}

/**
 * How old the stage's newest snapshot is, read from the bucket itself (what a restore would use),
 * not from the backup function's own success metric. Keys sort by time
 * (`<stagePrefix>YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.rdb`), so it lists one month folder at a time, newest
 * month first, and stops at the first month that holds a snapshot: a few requests whatever the
 * retention.
 */
export async function newestSnapshotAge(options: SnapshotAgeOptions): Promise<SnapshotAge> {
  const { now, lookbackHours } = options;
  const oldest = new Date(now.getTime() - lookbackHours * 3_600_000);
  for (const month of monthsBetween(oldest, now)) {
    // One month folder, newest snapshot only (no metadata reads).
    const [newest] = await listSnapshots({
      s3: options.s3,
      bucket: options.bucket,
      prefix: `${options.stagePrefix}${month}`,
      limit: 1,
      withMetadata: false,
      ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    });
    if (newest === undefined) continue;
    const hours = Math.max(0, (now.getTime() - newest.time.getTime()) / 3_600_000);
    return hours > lookbackHours ? { hours: lookbackHours } : { hours, key: newest.key };
  }
  return { hours: lookbackHours };
}

/** `YYYY/MM` of every month from `now`'s back to `oldest`'s, newest first (UTC). */
function monthsBetween(oldest: Date, now: Date): string[] {
  const months: string[] = [];
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth();
  const stopAt = oldest.getUTCFullYear() * 12 + oldest.getUTCMonth();
  while (year * 12 + month >= stopAt) {
    months.push(`${year}/${String(month + 1).padStart(2, '0')}`);
    month -= 1;
    if (month < 0) {
      month = 11;
      year -= 1;
    }
  }
  return months;
}

export interface PublishSnapshotAgeDeps extends Omit<SnapshotAgeOptions, 'now'> {
  readonly metrics: Metrics;
  readonly logger: MetricsLogger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Publishes LatestSnapshotAgeHours. Never throws: when the bucket cannot be listed it logs why
 * and publishes nothing, which the missing-backup alarm of weekly stages treats as breaching.
 */
export async function publishSnapshotAge(deps: PublishSnapshotAgeDeps): Promise<SnapshotAge | undefined> {
  const now = (deps.now ?? (() => new Date()))();
  try {
    const age = await newestSnapshotAge({ ...deps, now });
    publishPoints(
      deps.metrics,
      [{ name: METRIC.LatestSnapshotAgeHours, unit: 'None', value: age.hours }],
      now,
    );
    return age;
  } catch (error) {
    deps.logger.error('cannot list the backup bucket: LatestSnapshotAgeHours not published', {
      bucket: deps.bucket,
      prefix: deps.stagePrefix,
      error: (error as Error).message,
    });
    return undefined;
  }
}
