import { closest, distance } from 'fastest-levenshtein';
import type { ElastiCacheEngineConfig, FargateEngineConfig } from './engine';
import { CLUSTER_MODE_FIELDS } from './engine-validation';
import type { ImportedVpcConfig, MonitoringConfig, NewVpcConfig, StageConfig } from './stage-config';

/**
 * Every field a stage's configuration may have, at every level. `npx cdk synth` runs the app with
 * tsx, which does not type-check: without this, `maxMemoryPolicy: 'noeviction'` or `alarmEmial`
 * would be ignored and the stage would deploy with the default. Typed as `Record<keyof ..., true>`
 * so that a field added to the interfaces and not listed here (or listed and not there) fails
 * `npm run typecheck`.
 */
const STAGE_FIELDS: Record<keyof StageConfig, true> = {
  stageName: true,
  envName: true,
  account: true,
  region: true,
  vpc: true,
  taskCpu: true,
  taskMemoryMiB: true,
  maxmemory: true,
  maxmemoryPolicy: true,
  clientSecurityGroupIds: true,
  clientCidrs: true,
  backupIntervalHours: true,
  backupStartHourUtc: true,
  backupRetentionDays: true,
  backupColdStorageAfterDays: true,
  alarmEmail: true,
  alarmsNotifyNobody: true,
  monitoring: true,
  retainData: true,
  logRetentionDays: true,
  dnsNamespace: true,
  tls: true,
  passwordRotationDays: true,
  engine: true,
};

const FARGATE_ENGINE_FIELDS: Record<keyof FargateEngineConfig, true> = {
  kind: true,
  seedBucket: true,
};
const ELASTICACHE_ENGINE_FIELDS: Record<keyof ElastiCacheEngineConfig, true> = {
  kind: true,
  nodeType: true,
  replicas: true,
  engine: true,
  engineVersion: true,
  snapshotRetentionDays: true,
  snapshotWindow: true,
  maintenanceWindow: true,
  seed: true,
};

const NEW_VPC_FIELDS: Record<keyof NewVpcConfig, true> = {
  kind: true,
  cidr: true,
  maxAzs: true,
  s3EndpointBuckets: true,
};
const IMPORTED_VPC_FIELDS: Record<keyof ImportedVpcConfig, true> = {
  kind: true,
  vpcId: true,
  createEndpoints: true,
};

const MONITORING_FIELDS: Record<keyof MonitoringConfig, true> = {
  metricsIntervalMinutes: true,
  celeryQueues: true,
  celeryQueueDatabase: true,
  celeryBacklogAlarmThreshold: true,
  downAlarmMinutes: true,
  memoryAlarmPercent: true,
  fragmentationAlarmRatio: true,
  unsavedChangesAlarmMinutes: true,
  taskCpuAlarmPercent: true,
  taskMemoryAlarmPercent: true,
  backupAlarmMarginHours: true,
};

/**
 * The known name closest to `name` (case and up to a third of its letters aside), or undefined when
 * none is close enough to be a likely typo.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const sameButCase = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (sameButCase) return sameButCase;
  const candidate = closest(name, [...known]);
  return distance(name, candidate) <= Math.max(2, Math.floor(name.length / 3)) ? candidate : undefined;
}

/** Problems for each field of `section` that `known` does not list, named by their path. */
function unknownIn(
  section: unknown,
  known: Record<string, true>,
  path: string,
  reportedElsewhere: readonly string[] = [],
): Array<{ field: string; problem: string }> {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return [];
  const names = Object.keys(known);
  return Object.keys(section)
    .filter((name) => !Object.hasOwn(known, name) && !reportedElsewhere.includes(name))
    .map((name) => {
      const nearest = nearestName(name, names);
      const hint = nearest === undefined ? '' : ` Did you mean '${path}${nearest}'?`;
      return {
        field: `${path}${name}`,
        problem: `unknown field, so it would be ignored.${hint} Allowed here: ${names.join(', ')}.`,
      };
    });
}

/** The fields of a stage's configuration, at every level, that no stage may have. */
export function unknownFields(config: StageConfig): Array<{ field: string; problem: string }> {
  const vpc = config.vpc as Partial<NewVpcConfig | ImportedVpcConfig> | undefined;
  // An unknown kind is reported by the VPC's own validation; check against the kind it names.
  const vpcFields =
    vpc?.kind === 'imported' ? IMPORTED_VPC_FIELDS : vpc?.kind === 'new' ? NEW_VPC_FIELDS : undefined;
  // Likewise the engine's fields by its kind; cluster-mode fields are refused with their reason there.
  const engine = config.engine as Partial<FargateEngineConfig | ElastiCacheEngineConfig> | undefined;
  const engineFields =
    engine?.kind === 'fargate'
      ? FARGATE_ENGINE_FIELDS
      : engine?.kind === 'elasticache'
        ? ELASTICACHE_ENGINE_FIELDS
        : undefined;
  return [
    ...unknownIn(config, STAGE_FIELDS, ''),
    ...(engineFields ? unknownIn(engine, engineFields, 'engine.', CLUSTER_MODE_FIELDS) : []),
    ...(vpcFields ? unknownIn(vpc, vpcFields, 'vpc.') : []),
    ...unknownIn(config.monitoring, MONITORING_FIELDS, 'monitoring.'),
  ];
}
