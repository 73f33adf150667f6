/**
 * Which engine runs a stage's Redis (docs/elasticache.md):
 *
 * - `fargate` (the default): one Redis 7 container of this project's image on ECS Fargate, its data
 *   on EFS, backed up by the SYNC backup function, restored by the restore state machine.
 * - `elasticache`: an ElastiCache replication group (Valkey 8 by default), cluster mode disabled,
 *   with a replica in another AZ and automatic failover in seconds.
 *
 * Cluster mode and ElastiCache Serverless are refused: Celery (kombu) runs multi-key commands on
 * keys of different hash slots, which a cluster refuses with CROSSSLOT (celery/celery#2852).
 */

/** Today's stage: one Fargate task. */
export interface FargateEngineConfig {
  readonly kind: 'fargate';
  /**
   * Create the stage's seed bucket (SSE-S3, readable by ElastiCache), where `ops seed-export`
   * copies a verified snapshot before the stage switches to `elasticache` (docs/elasticache.md,
   * "Switch a stage"). The bucket stays with the stage when it switches.
   * @default false
   */
  readonly seedBucket?: boolean;
}

/** The engines ElastiCache runs, and their versions this project allows. */
export const ELASTICACHE_ENGINE_VERSIONS = {
  valkey: ['8.0', '8.1'],
  redis: ['7.1'],
} as const;

export type ElastiCacheEngineName = keyof typeof ELASTICACHE_ENGINE_VERSIONS;

/** Valkey 8.1 unless the configuration says otherwise (the version the seed test loads into). */
export const DEFAULT_ELASTICACHE_ENGINE: ElastiCacheEngineName = 'valkey';
export const DEFAULT_ELASTICACHE_VERSION: Readonly<Record<ElastiCacheEngineName, string>> = {
  valkey: '8.1',
  redis: '7.1',
};

/** Snapshots kept when the configuration does not say (days). */
export const DEFAULT_SNAPSHOT_RETENTION_DAYS = 7;
/** Daily snapshot window (UTC) when the configuration does not say. */
export const DEFAULT_SNAPSHOT_WINDOW = '02:00-03:00';
/** Weekly maintenance window (UTC) when the configuration does not say. */
export const DEFAULT_MAINTENANCE_WINDOW = 'sun:04:00-sun:05:00';

/** A managed, replicated engine: an ElastiCache replication group, cluster mode disabled. */
export interface ElastiCacheEngineConfig {
  readonly kind: 'elasticache';
  /** Node type of a current generation (ELASTICACHE_NODE_TYPES), e.g. `cache.t4g.small`. */
  readonly nodeType: string;
  /**
   * Read replicas, 0 to 5. With at least one: Multi-AZ with automatic failover (seconds). A stage
   * that retains its data needs at least one.
   */
  readonly replicas: number;
  /** `valkey` or `redis` (Redis OSS). @default 'valkey' */
  readonly engine?: ElastiCacheEngineName;
  /** Engine version: Valkey `8.0` or `8.1`; Redis OSS `7.1`. @default '8.1' (valkey), '7.1' (redis) */
  readonly engineVersion?: string;
  /** Days ElastiCache keeps its automatic daily snapshots, 1 to 35. @default 7 */
  readonly snapshotRetentionDays?: number;
  /** Daily snapshot window, UTC, `HH:MM-HH:MM`, at least 60 minutes. @default '02:00-03:00' */
  readonly snapshotWindow?: string;
  /**
   * Weekly maintenance window, UTC, `ddd:HH:MM-ddd:HH:MM`, at least 60 minutes, not overlapping the
   * snapshot window. @default 'sun:04:00-sun:05:00'
   */
  readonly maintenanceWindow?: string;
  /**
   * Key of the RDB file in the stage's seed bucket the group is created from (what `ops
   * seed-export` printed). Read ONCE, when the group is created: changing or removing it later
   * REPLACES the group (new endpoint, the new seed's data), and synth warns about it.
   * @default an empty group
   */
  readonly seed?: string;
}

export type EngineConfig = FargateEngineConfig | ElastiCacheEngineConfig;

/** A current-generation ElastiCache node type: vCPUs and memory (GiB), for alarms and checks. */
export interface NodeTypeFacts {
  readonly vcpus: number;
  readonly memoryGiB: number;
}

/**
 * Current-generation node types (AWS "Supported node types", 2026) that support Multi-AZ with
 * automatic failover. Previous generations (t2, m3, r3, m4, r4) are refused.
 */
export const ELASTICACHE_NODE_TYPES: Readonly<Record<string, NodeTypeFacts>> = {
  'cache.t4g.micro': { vcpus: 2, memoryGiB: 0.5 },
  'cache.t4g.small': { vcpus: 2, memoryGiB: 1.37 },
  'cache.t4g.medium': { vcpus: 2, memoryGiB: 3.09 },
  'cache.t3.micro': { vcpus: 2, memoryGiB: 0.5 },
  'cache.t3.small': { vcpus: 2, memoryGiB: 1.37 },
  'cache.t3.medium': { vcpus: 2, memoryGiB: 3.09 },
  ...graviton('m7g', [6.38, 12.94, 26.05, 52.82, 103.68, 157.12, 209.55]),
  ...graviton('m6g', [6.38, 12.93, 26.04, 52.26, 103.68, 157.12, 209.55]),
  ...graviton('r7g', [13.07, 26.32, 52.82, 105.81, 209.55, 317.77, 419.09]),
  ...graviton('r6g', [13.07, 26.32, 52.82, 105.81, 209.55, 317.77, 419.09]),
};

/** large .. 16xlarge of a Graviton family: 2, 4, 8, 16, 32, 48, 64 vCPUs. */
function graviton(family: string, memoriesGiB: readonly number[]): Record<string, NodeTypeFacts> {
  const sizes: Array<[string, number]> = [
    ['large', 2],
    ['xlarge', 4],
    ['2xlarge', 8],
    ['4xlarge', 16],
    ['8xlarge', 32],
    ['12xlarge', 48],
    ['16xlarge', 64],
  ];
  return Object.fromEntries(
    sizes.map(([size, vcpus], index) => [
      `cache.${family}.${size}`,
      { vcpus, memoryGiB: memoriesGiB[index] ?? 0 },
    ]),
  );
}

/** An ElastiCache engine with every default filled in. */
export interface ResolvedElastiCacheEngine {
  readonly kind: 'elasticache';
  readonly nodeType: string;
  readonly node: NodeTypeFacts;
  readonly replicas: number;
  readonly engine: ElastiCacheEngineName;
  readonly engineVersion: string;
  readonly snapshotRetentionDays: number;
  readonly snapshotWindow: string;
  readonly maintenanceWindow: string;
  readonly seed?: string;
}

/** The stage's engine: `fargate` when the configuration names none. */
export function engineOf(config: { readonly engine?: EngineConfig }): EngineConfig {
  return config.engine ?? { kind: 'fargate' };
}

/** A validated ElastiCache engine with its defaults (validateEngine has accepted it). */
export function resolveElastiCacheEngine(engine: ElastiCacheEngineConfig): ResolvedElastiCacheEngine {
  const name = engine.engine ?? DEFAULT_ELASTICACHE_ENGINE;
  const node = ELASTICACHE_NODE_TYPES[engine.nodeType];
  if (node === undefined)
    throw new Error(`unknown node type ${engine.nodeType} (validateEngine accepts none)`);
  return {
    kind: 'elasticache',
    nodeType: engine.nodeType,
    node,
    replicas: engine.replicas,
    engine: name,
    engineVersion: engine.engineVersion ?? DEFAULT_ELASTICACHE_VERSION[name],
    snapshotRetentionDays: engine.snapshotRetentionDays ?? DEFAULT_SNAPSHOT_RETENTION_DAYS,
    snapshotWindow: engine.snapshotWindow ?? DEFAULT_SNAPSHOT_WINDOW,
    maintenanceWindow: engine.maintenanceWindow ?? DEFAULT_MAINTENANCE_WINDOW,
    ...(engine.seed !== undefined && { seed: engine.seed }),
  };
}
