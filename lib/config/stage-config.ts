/**
 * The typed configuration of one deployment stage (dev, staging, prod).
 *
 * Each stage is a plain `const` object (`dev.ts`, `staging.ts`, `prod.ts`), validated once at the top
 * of the app by `validateStageConfigs` (validate.ts) before any construct is created. Constructs never
 * read context or environment variables: they get what they need from this object through props.
 */

import type { EngineConfig } from './engine';

/** Redis's eight `maxmemory-policy` values (redis.conf, "MEMORY MANAGEMENT"). */
export const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;

export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

/** Create a new VPC for this stage (private isolated subnets, VPC endpoints, flow logs, no NAT). */
export interface NewVpcConfig {
  readonly kind: 'new';
  /** IPv4 CIDR of the VPC, /16 to /22 (each AZ gets one /24-or-smaller isolated subnet). */
  readonly cidr: string;
  /** Number of Availability Zones (EFS mount target + subnet in each), 2 or 3. */
  readonly maxAzs: number;
  /**
   * Other buckets that workloads in this VPC (e.g. Celery workers placed in its subnets) reach
   * through its S3 endpoint, whose policy otherwise allows only the stage's backup bucket and ECR's
   * image layers. @default none
   */
  readonly s3EndpointBuckets?: readonly string[];
}

/**
 * Use an existing VPC, looked up by id at synth time (`Vpc.fromLookup`). Requires a concrete `account`
 * and `region` and, on the first synth, AWS credentials (the result is cached in `cdk.context.json`,
 * which should be committed so later synths, CI included, need no credentials).
 */
export interface ImportedVpcConfig {
  readonly kind: 'imported';
  /** The VPC id, `vpc-` followed by 8 or 17 hex digits. */
  readonly vpcId: string;
  /**
   * Create the interface/gateway endpoints Redis needs (ECR, Logs, Secrets Manager, KMS, SSM
   * messages, S3). Leave false when the VPC already has them (a VPC can hold only one endpoint with
   * private DNS per service) or when its private subnets reach AWS through a NAT gateway.
   */
  readonly createEndpoints: boolean;
}

export type VpcConfig = NewVpcConfig | ImportedVpcConfig;

/**
 * Metrics and alarm settings of one stage (monitoring issue). Every field is optional; the defaults
 * (`DEFAULT_MONITORING`, lib/config/monitoring.ts) suit the spec's sizing. See
 * docs/runbook/alarms.md for what each alarm means.
 */
export interface MonitoringConfig {
  /** Minutes between two samples of the metrics function, 1 to 5. @default 1 */
  readonly metricsIntervalMinutes?: number;
  /** Celery queues (kombu list keys) whose length is published, at most 10. @default ['celery'] */
  readonly celeryQueues?: readonly string[];
  /** Redis database of Celery's broker URL (`redis://...:6379/0`), 0 to 15. @default 0 */
  readonly celeryQueueDatabase?: number;
  /**
   * Alarm when a Celery queue holds more than this many messages for 15 minutes.
   * @default no backlog alarm
   */
  readonly celeryBacklogAlarmThreshold?: number;
  /**
   * Alarm when Redis cannot be sampled (or no metrics arrive at all), and when no Redis task runs,
   * for this many minutes. At least `metricsIntervalMinutes`, at most 60.
   * @default 3
   */
  readonly downAlarmMinutes?: number;
  /** Alarm when used memory averages above this % of maxmemory over 5 minutes. @default 90 */
  readonly memoryAlarmPercent?: number;
  /**
   * Alarm when mem_fragmentation_ratio stays above this for 15 minutes (only while the
   * fragmentation is also above 100 MiB: a small Redis always shows a high ratio). @default 1.5
   */
  readonly fragmentationAlarmRatio?: number;
  /**
   * Alarm when changes have waited this many minutes for an RDB save (redis.conf saves a changed
   * dataset within 15 minutes), at least 20. @default 60
   */
  readonly unsavedChangesAlarmMinutes?: number;
  /** Alarm when the task's CPU averages above this % for 15 minutes. @default 80 */
  readonly taskCpuAlarmPercent?: number;
  /** Alarm when the task's memory peaks above this % in two consecutive 5-minute periods. @default 85 */
  readonly taskMemoryAlarmPercent?: number;
  /**
   * Alarm when no backup succeeded for `backupIntervalHours` + this many hours (1 to 48). With
   * weekly backups (beyond CloudWatch's 7-day look-back) the alarm reads the newest snapshot's age.
   * @default 3
   */
  readonly backupAlarmMarginHours?: number;
}

/**
 * TLS on Redis (docs/configuration.md, "TLS"):
 * - `off`: plaintext on 6379 only;
 * - `transitional`: plaintext on 6379 AND TLS on 6380, so that consumers move to TLS one by one;
 * - `required`: TLS on 6380 only.
 */
export type TlsMode = 'off' | 'transitional' | 'required';

/** A stage's TLS mode when its configuration does not say. */
export const DEFAULT_TLS_MODE: TlsMode = 'required';

/** The allowed TLS modes, in the order a stage moves through them. */
export const TLS_MODES: readonly TlsMode[] = ['off', 'transitional', 'required'];

export interface StageConfig {
  /** Construct id of the Stage, also the deploy selector (`npx cdk deploy 'Dev/*'`). PascalCase. */
  readonly stageName: string;
  /** Lower-case name used in tags and DNS names (`dev`, `staging`, `prod`). */
  readonly envName: string;
  /**
   * AWS account id (12 digits) to deploy to.
   * @default CDK_DEFAULT_ACCOUNT (the CLI's current credentials); unset = environment-agnostic stack
   */
  readonly account?: string;
  /**
   * AWS region to deploy to, e.g. `eu-west-1`.
   * @default CDK_DEFAULT_REGION (the CLI's profile or AWS_REGION); unset = environment-agnostic stack
   */
  readonly region?: string;
  /** Create a VPC or use an existing one. */
  readonly vpc: VpcConfig;
  /** Fargate task CPU units (256 = 0.25 vCPU). Must form a Fargate-supported pair with `taskMemoryMiB`. */
  readonly taskCpu: number;
  /** Fargate task memory in MiB. */
  readonly taskMemoryMiB: number;
  /**
   * Redis `maxmemory` (REDIS_MAXMEMORY), a Redis memory size such as `512mb` or `1gb`. At most 60% of
   * the task memory, so a BGSAVE / AOF rewrite fork (copy-on-write) still fits in the task.
   */
  readonly maxmemory: string;
  /** Redis `maxmemory-policy` (REDIS_MAXMEMORY_POLICY). See docs/configuration.md, "allkeys-lru or noeviction". */
  readonly maxmemoryPolicy: EvictionPolicy;
  /** Security groups (`sg-...`) of existing consumers admitted on 6379, besides the exported client group. */
  readonly clientSecurityGroupIds: readonly string[];
  /** CIDRs admitted on 6379 (e.g. a peered VPC). Never 0.0.0.0/0 or ::/0; at most /8 (IPv4), /32 (IPv6) wide. */
  readonly clientCidrs: readonly string[];
  /** Hours between two backups (backup issue): a divisor of 24 (1, 2, 3, 4, 6, 8, 12, 24) or 168 (weekly). */
  readonly backupIntervalHours: number;
  /** UTC hour (0-23) of the first backup of the day (or of Sunday, for weekly backups). */
  readonly backupStartHourUtc: number;
  /** Days a backup is kept. Must cover at least two backup intervals. */
  readonly backupRetentionDays: number;
  /**
   * Move snapshots to S3 Glacier Instant Retrieval (cheaper storage, still restorable at once) after
   * this many days. Must be shorter than `backupRetentionDays`. Glacier IR bills at least 90 days
   * per object: worth it only with a long retention.
   * @default never: snapshots stay in S3 Standard
   */
  readonly backupColdStorageAfterDays?: number;
  /**
   * E-mail address subscribed to the alarms (monitoring issue).
   * @default no e-mail subscription
   */
  readonly alarmEmail?: string;
  /**
   * Says explicitly that this stage's alarms are to notify nobody (no `alarmEmail`; e.g. the alarm
   * topic is subscribed outside this app). A retained stage (prod) without either fails synth.
   * @default false
   */
  readonly alarmsNotifyNobody?: boolean;
  /**
   * Metrics schedule, Celery queues and alarm thresholds (monitoring issue). Every field has a
   * default (see `MonitoringConfig` and `DEFAULT_MONITORING` in monitoring.ts).
   * @default all defaults
   */
  readonly monitoring?: MonitoringConfig;
  /**
   * Keep the data (file system, KMS key, secrets, log groups) when the stack is deleted, and turn on
   * the stack's termination protection. Prod: true. Dev/staging: false (everything is destroyed).
   */
  readonly retainData: boolean;
  /** Retention of the Redis, ECS Exec audit and VPC flow log groups, in days (a CloudWatch Logs value). */
  readonly logRetentionDays: number;
  /** Cloud Map private DNS namespace; Redis is reachable at `redis.<dnsNamespace>`. */
  readonly dnsNamespace: string;
  /**
   * TLS on Redis: `off`, `transitional` (plaintext and TLS, for a migration) or `required`. With TLS
   * on, the stage has its own private CA (key in Secrets Manager) and publishes the CA certificate
   * as the `ca-bundle` connection parameter.
   * @default 'required'
   */
  readonly tls?: TlsMode;
  /**
   * Days between automatic rotations of the three Redis passwords (Secrets Manager rotation with
   * Redis ACL's two passwords per user: nobody is cut off). A client picks up a new password at its
   * next deploy and keeps working with the previous one until the rotation after.
   * @default no rotation (allowed only for a stage that does not retain its data, e.g. dev)
   */
  readonly passwordRotationDays?: number;
  /**
   * What runs Redis: `{ kind: 'fargate' }` (one container of this project's image, the default) or
   * `{ kind: 'elasticache', nodeType, replicas, ... }` (a managed replication group with failover;
   * docs/elasticache.md). `taskCpu`, `taskMemoryMiB`, `maxmemory`, `dnsNamespace` and the backup
   * schedule apply to Fargate only; `maxmemoryPolicy`, `tls`, `passwordRotationDays`, monitoring and
   * the client groups and CIDRs apply to both.
   * @default { kind: 'fargate' }
   */
  readonly engine?: EngineConfig;
}
