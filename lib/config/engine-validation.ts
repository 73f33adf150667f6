import {
  DEFAULT_ELASTICACHE_ENGINE,
  ELASTICACHE_ENGINE_VERSIONS,
  ELASTICACHE_NODE_TYPES,
  type ElastiCacheEngineConfig,
  type ElastiCacheEngineName,
  resolveElastiCacheEngine,
} from './engine';
import type { StageConfig } from './stage-config';

/** Why the engine is never a cluster: said wherever cluster mode or Serverless is asked for. */
export const NO_CLUSTER_REASON =
  'Celery (kombu) runs multi-key commands on keys of different hash slots, which cluster mode and ElastiCache Serverless refuse with CROSSSLOT (celery/celery#2852, open since 2015)';

/** Engine kinds people may reach for, and why each is refused. */
const REFUSED_KINDS: Readonly<Record<string, string>> = {
  serverless: `ElastiCache Serverless is always clustered: ${NO_CLUSTER_REASON}. Allowed: 'elasticache' (node-based, cluster mode disabled).`,
  cluster: `cluster mode is refused: ${NO_CLUSTER_REASON}. Allowed: 'elasticache' (node-based, cluster mode disabled).`,
};

/** Engine fields that would ask for cluster mode, refused with the reason rather than as unknown. */
export const CLUSTER_MODE_FIELDS = [
  'clusterMode',
  'clusterEnabled',
  'shards',
  'numNodeGroups',
  'serverless',
] as const;

const SNAPSHOT_WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MAINTENANCE_WINDOW =
  /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)$/;
/** An S3 key under the seed bucket's `seeds/` prefix, ending in `.rdb` (what ops seed-export writes). */
const SEED_KEY = /^seeds\/[A-Za-z0-9!_.*'()/-]+\.rdb$/;
const MINUTES_PER_WEEK = 7 * 24 * 60;

/** The problems of a stage's `engine`, each naming the stage, field, value and what is allowed. */
export function validateEngine(config: StageConfig): string[] {
  const errors: string[] = [];
  const stage = config.stageName || '<unnamed>';
  const fail = (field: string, value: unknown, problem: string): void => {
    errors.push(`Stage '${stage}', field 'engine${field}', value ${JSON.stringify(value)}: ${problem}`);
  };
  const engine = config.engine as unknown;
  if (engine === undefined) return errors;
  if (typeof engine !== 'object' || engine === null || Array.isArray(engine)) {
    fail('', engine, "Allowed: { kind: 'fargate' } or { kind: 'elasticache', nodeType, replicas, ... }.");
    return errors;
  }
  const kind = (engine as { kind?: unknown }).kind;
  for (const field of CLUSTER_MODE_FIELDS) {
    if (Object.hasOwn(engine, field)) {
      fail(`.${field}`, (engine as Record<string, unknown>)[field], `refused: ${NO_CLUSTER_REASON}.`);
    }
  }
  if (typeof kind === 'string' && Object.hasOwn(REFUSED_KINDS, kind)) {
    fail('.kind', kind, REFUSED_KINDS[kind] as string);
    return errors;
  }
  if (kind === 'fargate') {
    const seedBucket = (engine as { seedBucket?: unknown }).seedBucket;
    if (seedBucket !== undefined && typeof seedBucket !== 'boolean') {
      fail('.seedBucket', seedBucket, 'Allowed: true, false, or unset.');
    }
    return errors;
  }
  if (kind !== 'elasticache') {
    fail('.kind', kind, "Allowed: 'fargate' (the default) or 'elasticache'.");
    return errors;
  }

  const e = engine as ElastiCacheEngineConfig;
  if (!Object.hasOwn(ELASTICACHE_NODE_TYPES, e.nodeType)) {
    fail(
      '.nodeType',
      e.nodeType,
      `not a current-generation node type with Multi-AZ failover. Allowed: ${Object.keys(ELASTICACHE_NODE_TYPES).join(', ')}.`,
    );
  }
  if (!Number.isInteger(e.replicas) || e.replicas < 0 || e.replicas > 5) {
    fail('.replicas', e.replicas, 'Allowed: an integer from 0 to 5 (read replicas in other AZs).');
  } else if (config.retainData === true && e.replicas < 1) {
    fail(
      '.replicas',
      e.replicas,
      'a retained stage needs at least 1 replica: without one there is no failover, and a node failure loses everything since the last snapshot. Allowed: 1 to 5.',
    );
  }
  const name = e.engine ?? DEFAULT_ELASTICACHE_ENGINE;
  if (!Object.hasOwn(ELASTICACHE_ENGINE_VERSIONS, name)) {
    fail('.engine', e.engine, "Allowed: 'valkey' (the default) or 'redis' (Redis OSS).");
  } else if (e.engineVersion !== undefined) {
    const versions: readonly string[] = ELASTICACHE_ENGINE_VERSIONS[name as ElastiCacheEngineName];
    if (!versions.includes(e.engineVersion)) {
      fail('.engineVersion', e.engineVersion, `Allowed for ${name}: ${versions.join(', ')}.`);
    }
  }
  if (
    e.snapshotRetentionDays !== undefined &&
    (!Number.isInteger(e.snapshotRetentionDays) ||
      e.snapshotRetentionDays < 1 ||
      e.snapshotRetentionDays > 35)
  ) {
    fail(
      '.snapshotRetentionDays',
      e.snapshotRetentionDays,
      'Allowed: an integer from 1 to 35 (days ElastiCache keeps its daily snapshots).',
    );
  }
  const snapshot = e.snapshotWindow === undefined ? undefined : snapshotWindowMinutes(e.snapshotWindow);
  if (snapshot === null) {
    fail(
      '.snapshotWindow',
      e.snapshotWindow,
      "Allowed: 'HH:MM-HH:MM' in UTC, at least 60 minutes long (e.g. '02:00-03:00').",
    );
  }
  const maintenance =
    e.maintenanceWindow === undefined ? undefined : maintenanceWindowMinutes(e.maintenanceWindow);
  if (maintenance === null) {
    fail(
      '.maintenanceWindow',
      e.maintenanceWindow,
      "Allowed: 'ddd:HH:MM-ddd:HH:MM' in UTC (ddd = sun..sat), 60 minutes to 24 hours long (e.g. 'sun:04:00-sun:05:00').",
    );
  }
  if (e.seed !== undefined && (typeof e.seed !== 'string' || !SEED_KEY.test(e.seed))) {
    fail(
      '.seed',
      e.seed,
      "Allowed: the key ops seed-export printed, 'seeds/<stage>/<name>.rdb' in the stage's seed bucket.",
    );
  }
  if (config.tls !== undefined && config.tls !== 'required') {
    fail(
      '',
      'elasticache',
      `needs tls 'required' (or unset): ElastiCache's users and passwords (RBAC) work only with TLS, and this stage says tls ${JSON.stringify(config.tls)}.`,
    );
  }
  // Both windows valid (defaults filled in): they must not overlap (AWS refuses it at deploy).
  if (errors.length === 0) {
    const resolved = resolveElastiCacheEngine(e);
    const daily = snapshotWindowMinutes(resolved.snapshotWindow);
    const weekly = maintenanceWindowMinutes(resolved.maintenanceWindow);
    if (daily && weekly && windowsOverlap(daily, weekly)) {
      fail(
        '.maintenanceWindow',
        resolved.maintenanceWindow,
        `overlaps the daily snapshot window ${resolved.snapshotWindow}. Allowed: a maintenance window outside it.`,
      );
    }
  }
  return errors;
}

/** [start, end) minutes after 00:00 UTC (end may pass midnight), or null when malformed or < 60 min. */
function snapshotWindowMinutes(window: string): [number, number] | null {
  const match = SNAPSHOT_WINDOW.exec(window);
  if (!match) return null;
  const [, h1, m1, h2, m2] = match.map(Number) as [number, number, number, number, number];
  const start = h1 * 60 + m1;
  let end = h2 * 60 + m2;
  if (end <= start) end += 24 * 60;
  return end - start >= 60 ? [start, end] : null;
}

/** [start, end) minutes after Sunday 00:00 UTC, or null when malformed, < 60 min or > 24 h. */
function maintenanceWindowMinutes(window: string): [number, number] | null {
  const match = MAINTENANCE_WINDOW.exec(window);
  if (!match) return null;
  const day = (name: string | undefined) => DAYS.indexOf(name as (typeof DAYS)[number]);
  const start = day(match[1]) * 1440 + Number(match[2]) * 60 + Number(match[3]);
  let end = day(match[4]) * 1440 + Number(match[5]) * 60 + Number(match[6]);
  if (end <= start) end += MINUTES_PER_WEEK;
  const length = end - start;
  return length >= 60 && length <= 24 * 60 ? [start, end] : null;
}

/** Whether a daily window (repeated every day of the week) overlaps a weekly one. */
function windowsOverlap(daily: [number, number], weekly: [number, number]): boolean {
  for (let day = -1; day <= 7; day++) {
    const start = daily[0] + day * 1440;
    const end = daily[1] + day * 1440;
    for (const shift of [-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK]) {
      if (start < weekly[1] + shift && weekly[0] + shift < end) return true;
    }
  }
  return false;
}
