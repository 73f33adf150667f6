import { Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  METRIC,
  METRICS_SERVICE,
  QUEUE_DIMENSION,
  SERVICE_DIMENSION,
} from '../../../lambda/shared/metric-names';
import { METRICS_NAMESPACE, STAGE_DIMENSION } from '../../../lambda/shared/observability';
import type { ResolvedElastiCacheEngine } from '../../config/engine';
import type { ResolvedMonitoringConfig } from '../../config/monitoring';
import { addAlarmTopic, stageAlarmNamePrefix } from '../alarm-topic';
import { FirstDataGate } from '../first-data-gate';
import { ProjectFunction } from '../project-function';
import { ELASTICACHE_MONITOR_USER } from './access-strings';
import type { RedisReplicationGroup } from './redis-replication-group';

/** Namespace of ElastiCache's own metrics. */
export const ELASTICACHE_NAMESPACE = 'AWS/ElastiCache';
/** The dimension of ElastiCache's per-node metrics: `<replication group id>-001`... */
export const NODE_DIMENSION = 'CacheClusterId';

/**
 * The fixed thresholds of the ElastiCache alarms (docs/runbook/alarms.md, "ElastiCache stages").
 * From AWS's "Which metrics should I monitor?" for ElastiCache (Valkey and Redis OSS), 2026.
 */
export const ELASTICACHE_THRESHOLDS = {
  /** EngineCPUUtilization, % of the engine's (single) thread: AWS's 90 % of the available CPU. */
  engineCpuPercent: 90,
  /** CPUUtilization is watched on nodes of at most this many vCPUs (AWS: "2 vCPUs or less"). */
  hostCpuMaxVcpus: 2,
  /** CPUUtilization (whole host) alarms above this / vCPUs: 90/2 = 45 % on a 2-vCPU node (AWS). */
  hostCpuPercentOfOneCore: 90,
  /** SwapUsage in bytes: AWS says it should not exceed 50 MB. */
  swapBytes: 50 * 1024 * 1024,
  /** ElastiCache's maxclients (fixed, not a parameter): 65,000 connections per node. */
  maxClients: 65_000,
  /** CurrConnections alarms above this share of maxclients. */
  connectionsPercent: 80,
  /** ReplicationLag (seconds) of a replica behind the primary. */
  replicationLagSeconds: 10,
  /** Failed AUTHs (all nodes together) within 5 minutes: a client with a wrong or stale password. */
  authenticationFailures: 10,
} as const;

/** CPUUtilization's threshold for a node of `vcpus` vCPUs, or undefined when it is not watched. */
export function hostCpuThreshold(vcpus: number): number | undefined {
  if (vcpus > ELASTICACHE_THRESHOLDS.hostCpuMaxVcpus) return undefined;
  return ELASTICACHE_THRESHOLDS.hostCpuPercentOfOneCore / vcpus;
}

/** Lambda refuses a function whose environment variables (names and values) exceed 4 KB. */
const LAMBDA_ENVIRONMENT_BYTES = 4096;
/** Room kept for a value unknown at synth: the endpoint's DNS name (~70 bytes), the secret ARN (~110). */
const UNRESOLVED_VALUE_BYTES = 128;
/** What ProjectFunction adds: NODE_OPTIONS=--enable-source-maps. */
const PROJECT_FUNCTION_ENVIRONMENT_BYTES = 'NODE_OPTIONS'.length + '--enable-source-maps'.length;

/**
 * Fails synth, naming the stage, when the metrics function's environment cannot fit Lambda's 4 KB:
 * the Amazon root CAs take 3.2 KB of it, so a long `monitoring.celeryQueues` list would otherwise
 * fail only at deploy time.
 */
function assertFitsLambdaEnvironment(envName: string, environment: Record<string, string>): void {
  const bytes = Object.entries(environment).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name) +
      (Token.isUnresolved(value) ? UNRESOLVED_VALUE_BYTES : Buffer.byteLength(value)),
    PROJECT_FUNCTION_ENVIRONMENT_BYTES,
  );
  if (bytes > LAMBDA_ENVIRONMENT_BYTES) {
    throw new Error(
      `Stage '${envName}': the ElastiCache metrics function's environment needs about ${bytes} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_BYTES} (the TLS CA bundle alone takes ${Buffer.byteLength(environment.REDIS_TLS_CA ?? '')} bytes). Shorten monitoring.celeryQueues (${environment.CELERY_QUEUES?.length ?? 0} characters now).`,
    );
  }
}

/** `node-001`: the node's place in the group, as ElastiCache numbers its member clusters. */
export function nodeLabel(index: number): string {
  return `node-${String(index + 1).padStart(3, '0')}`;
}

export interface ElastiCacheMonitoringProps {
  /** Lower-case stage name: in alarm names, the Stage dimension and the dashboard name. */
  readonly envName: string;
  /** The stage's monitoring settings, defaults filled in (resolveMonitoring). */
  readonly monitoring: ResolvedMonitoringConfig;
  /** The replication group: primary endpoint and port (the metrics function), node ids (the alarms). */
  readonly group: RedisReplicationGroup;
  /** The resolved engine: node type facts (vCPUs) and replicas decide which alarms exist. */
  readonly engine: ResolvedElastiCacheEngine;
  readonly vpc: ec2.IVpc;
  /** The private subnets the metrics function runs in. */
  readonly subnets: ec2.SubnetSelection;
  /** The stage's functions security group (admitted by Redis on 6380). */
  readonly functionsSecurityGroup: ec2.ISecurityGroup;
  /** The stage key: the topic, the function's log group and environment. */
  readonly kmsKey: kms.IKey;
  /** The `monitor` user's password (the stage's monitor secret). */
  readonly monitorSecret: secretsmanager.ISecret;
  /** The CAs ElastiCache's certificates chain to (AMAZON_ROOT_CAS_PEM): the function verifies the server. */
  readonly caCertificatePem: string;
  /** Subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the function's log groups. */
  readonly removalPolicy: RemovalPolicy;
}

/** The alarms of one node of the group. */
export interface ElastiCacheNodeAlarms {
  /** `node-001`... */
  readonly node: string;
  readonly evictions: cloudwatch.Alarm;
  readonly memoryHigh: cloudwatch.Alarm;
  readonly engineCpuHigh: cloudwatch.Alarm;
  /** Small nodes only (at most 2 vCPUs). */
  readonly hostCpuHigh?: cloudwatch.Alarm;
  /** Groups with a replica only (any node may be the replica after a failover). */
  readonly replicationLag?: cloudwatch.Alarm;
  readonly connectionsNearLimit: cloudwatch.Alarm;
  readonly swapHigh: cloudwatch.Alarm;
}

/** The alarms of an ElastiCache stage, by meaning. */
export interface ElastiCacheAlarms {
  /** The metrics function could not sample the primary endpoint (missing data is breaching). */
  readonly primaryUnreachable: cloudwatch.Alarm;
  /** Failed AUTHs on all nodes together. */
  readonly authenticationFailures: cloudwatch.Alarm;
  readonly nodes: readonly ElastiCacheNodeAlarms[];
  /** One per configured queue, when monitoring.celeryBacklogAlarmThreshold is set. */
  readonly celeryBacklog: readonly cloudwatch.Alarm[];
}

/**
 * Observability of a stage's Redis on ElastiCache: ElastiCache's own metrics (AWS/ElastiCache, per
 * node) for what the service measures, and the project's metrics function for what it cannot know
 * (Celery queue depths, whether the primary endpoint answers the `monitor` user over TLS).
 *
 * - The alarm topic: the same construct (`AlarmTopic`), key policy and subscription as a Fargate
 *   stage (alarm-topic.ts), so a stage switching engine keeps it. It is KMS-encrypted, and AWS
 *   documents that ElastiCache cannot publish its event notifications to an encrypted topic
 *   (ElastiCacheSNS.html): it marks the topic inactive instead.
 * - The metrics function (lambda/metrics) in the VPC and the functions group, on the stage's
 *   schedule, as `monitor` over TLS verified against the Amazon root CAs. No backup bucket (no SYNC
 *   backups here: no snapshot age) and no certificate expiry (AWS manages those certificates). IAM:
 *   its log group, the VPC network interfaces, the monitor secret and Decrypt on the stage key.
 * - The alarms of `ElastiCacheAlarms`, every one named `emailclient-redis-<stage>-<meaning>` with a
 *   meaning no Fargate alarm has (alarm names are physical: on a switch of engine the new alarms are
 *   created before the old ones are deleted), notifying the topic on ALARM and OK. The first deploy
 *   creates them once the function has sampled Redis (FirstDataGate, without a first backup).
 * - The dashboard `emailclient-redis-<stage>` (the same construct and name as a Fargate stage's).
 */
export class ElastiCacheMonitoring extends Construct {
  /** Where every alarm of the stage notifies (ALARM and OK). */
  public readonly topic: sns.Topic;
  public readonly function: ProjectFunction;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: ElastiCacheAlarms;
  /** Alarm names start with this: `emailclient-redis-<stage>-`. */
  public readonly alarmNamePrefix: string;
  /** Holds the alarms of a first deploy until the metrics function has sampled Redis. */
  public readonly firstDataGate: FirstDataGate;

  private readonly props: ElastiCacheMonitoringProps;

  constructor(scope: Construct, id: string, props: ElastiCacheMonitoringProps) {
    super(scope, id);
    this.props = props;
    const { envName, monitoring, group } = props;
    this.alarmNamePrefix = stageAlarmNamePrefix(envName);

    // --- Alarm topic (shared with the Fargate engine) ----------------------------------------
    this.topic = addAlarmTopic(this, {
      envName,
      kmsKey: props.kmsKey,
      alarmNamePrefix: this.alarmNamePrefix,
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
    });

    // --- Metrics function ----------------------------------------------------------------------
    const intervalMinutes = monitoring.metricsIntervalMinutes;
    const environment: Record<string, string> = {
      STAGE: envName,
      REDIS_HOST: group.hostName,
      REDIS_PORT: String(group.port),
      // TLS is required on ElastiCache: verify the server against the CAs its certificates chain to.
      REDIS_TLS_CA: props.caCertificatePem,
      MONITOR_USERNAME: ELASTICACHE_MONITOR_USER,
      MONITOR_SECRET_ARN: props.monitorSecret.secretArn,
      METRICS_INTERVAL_SECONDS: String(intervalMinutes * 60),
      CELERY_QUEUES: monitoring.celeryQueues.join(','),
      CELERY_QUEUE_DATABASE: String(monitoring.celeryQueueDatabase),
      // AWS renews ElastiCache's certificates: no TlsCertificateDaysLeft (and no alarm on it).
      PUBLISH_TLS_CERTIFICATE_EXPIRY: 'false',
    };
    assertFitsLambdaEnvironment(envName, environment);
    this.function = new ProjectFunction(this, 'Function', {
      handlerFolder: 'metrics',
      description: `Redis (${envName}, ElastiCache): publishes Celery queue depths and INFO metrics of the primary`,
      timeout: Duration.seconds(30),
      network: { vpc: props.vpc, subnets: props.subnets, securityGroup: props.functionsSecurityGroup },
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment,
    });
    props.monitorSecret.grantRead(this.function.role);
    // A late sample is worth nothing (the next one comes anyway), and the function does not throw
    // for a Redis outage: no retries of failed or throttled invocations.
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    const schedule = new events.Rule(this, 'Schedule', {
      description: `Redis (${envName}) metrics every ${intervalMinutes} minute(s)`,
      schedule: events.Schedule.rate(Duration.minutes(intervalMinutes)),
      targets: [new targets.LambdaFunction(this.function.function, { retryAttempts: 0 })],
    });

    // --- Alarms ----------------------------------------------------------------------------------
    this.alarms = this.createAlarms();
    // primary-unreachable counts missing data as breaching: on a first deploy it waits until the
    // function has found the primary up once (no first backup: this engine has no backup function).
    this.firstDataGate = new FirstDataGate(this, 'FirstDataGate', {
      envName,
      alarmNamePrefix: this.alarmNamePrefix,
      metrics: [
        {
          metric: this.alarms.primaryUnreachable.metric as cloudwatch.Metric,
          statistic: 'Maximum',
          atLeast: 1,
          missingMeans:
            'the metrics function never found the primary endpoint up: unreachable (security groups, TLS), the monitor user refused, or the function failing (see its log group)',
        },
      ],
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // The group (and its users) must exist and be sampled before the gate can see data.
    this.firstDataGate.node.addDependency(group.replicationGroup, schedule);
    const action = new cloudwatchActions.SnsAction(this.topic);
    for (const alarm of this.allAlarms()) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarm.node.addDependency(this.firstDataGate.resource);
    }

    // --- Dashboard -----------------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `emailclient-redis-${envName}`,
      defaultInterval: Duration.hours(3),
      widgets: this.dashboardRows(),
    });
  }

  /** Every alarm of the stage. */
  public allAlarms(): cloudwatch.Alarm[] {
    const { primaryUnreachable, authenticationFailures, nodes, celeryBacklog } = this.alarms;
    const perNode = nodes.flatMap(({ node: _node, ...alarms }) =>
      Object.values(alarms).filter((alarm): alarm is cloudwatch.Alarm => alarm !== undefined),
    );
    return [primaryUnreachable, authenticationFailures, ...perNode, ...celeryBacklog];
  }

  /** A metric of the metrics function (dimensions service + Stage, and `extra`). */
  private redisMetric(
    name: string,
    statistic: string,
    period: Duration,
    extra: Record<string, string> = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: {
        [SERVICE_DIMENSION]: METRICS_SERVICE,
        [STAGE_DIMENSION]: this.props.envName,
        ...extra,
      },
      statistic,
      period,
    });
  }

  /**
   * ElastiCache's metric `name` of node `index` (dimension CacheClusterId). `labelled`: named after
   * the node on the dashboard (an alarm's metric takes no label, or it renders as a metric query).
   */
  private nodeMetric(
    index: number,
    name: string,
    statistic: string,
    period: Duration,
    labelled = false,
  ): cloudwatch.Metric {
    const nodeId = this.props.group.nodeIds[index];
    if (nodeId === undefined) throw new Error(`the group has no node ${index + 1}`);
    return new cloudwatch.Metric({
      namespace: ELASTICACHE_NAMESPACE,
      metricName: name,
      dimensionsMap: { [NODE_DIMENSION]: nodeId },
      statistic,
      period,
      ...(labelled && { label: nodeLabel(index) }),
    });
  }

  private alarm(
    id: string,
    meaning: string,
    description: string,
    props: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>,
  ): cloudwatch.Alarm {
    const section = meaning
      .replace(/^node-\d{3}-/, 'node-<n>-')
      .replace(/^celery-queue-backlog-.*/, 'celery-queue-backlog-<queue>');
    return new cloudwatch.Alarm(this, id, {
      alarmName: `${this.alarmNamePrefix}${meaning}`,
      // On-call reads this in the alarm's email: the runbook page, and the section named after the alarm.
      alarmDescription: `Redis (${this.props.envName}, ElastiCache): ${description} Runbook: docs/runbook/alarms.md, "${section}".`,
      ...props,
    });
  }

  private createAlarms(): ElastiCacheAlarms {
    const { monitoring, engine, group } = this.props;
    const fiveMinutes = Duration.minutes(5);
    const interval = Duration.minutes(monitoring.metricsIntervalMinutes);
    const downPeriods = Math.ceil(monitoring.downAlarmMinutes / monitoring.metricsIntervalMinutes);
    const { GREATER_THAN_THRESHOLD, GREATER_THAN_OR_EQUAL_TO_THRESHOLD, LESS_THAN_THRESHOLD } =
      cloudwatch.ComparisonOperator;
    const { BREACHING, NOT_BREACHING } = cloudwatch.TreatMissingData;
    const T = ELASTICACHE_THRESHOLDS;

    const primaryUnreachable = this.alarm(
      'PrimaryUnreachable',
      'primary-unreachable',
      `the metrics function could not sample the primary endpoint as the monitor user over TLS (unreachable, credentials refused) or published nothing, for ${monitoring.downAlarmMinutes} minutes.`,
      {
        metric: this.redisMetric(METRIC.RedisUp, 'Maximum', interval),
        threshold: 1,
        comparisonOperator: LESS_THAN_THRESHOLD,
        evaluationPeriods: downPeriods,
        datapointsToAlarm: downPeriods,
        treatMissingData: BREACHING,
      },
    );

    const failures = Object.fromEntries(
      group.nodeIds.map((_id, index) => [
        `node${index + 1}`,
        this.nodeMetric(index, 'AuthenticationFailures', 'Sum', fiveMinutes),
      ]),
    );
    const authenticationFailures = this.alarm(
      'AuthenticationFailures',
      'authentication-failures',
      `${T.authenticationFailures} or more failed AUTHs on the group's nodes within 5 minutes: a client with a wrong or outdated password, or someone guessing.`,
      {
        metric: new cloudwatch.MathExpression({
          expression: 'SUM(METRICS())',
          usingMetrics: failures,
          label: 'Failed AUTHs, all nodes',
          period: fiveMinutes,
        }),
        threshold: T.authenticationFailures,
        comparisonOperator: GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );

    const cpuThreshold = hostCpuThreshold(engine.node.vcpus);
    const connectionsThreshold = (T.maxClients * T.connectionsPercent) / 100;
    const nodes = group.nodeIds.map((_id, index): ElastiCacheNodeAlarms => {
      const node = nodeLabel(index);
      const Id = `Node${String(index + 1).padStart(3, '0')}`;
      const metric = (name: string, statistic: string) =>
        this.nodeMetric(index, name, statistic, fiveMinutes);
      const evictions = this.alarm(
        `${Id}Evictions`,
        `${node}-evictions`,
        `${node} evicted keys within 5 minutes (maxmemory reached): with allkeys-lru they may be Celery broker keys.`,
        {
          metric: metric('Evictions', 'Sum'),
          threshold: 1,
          comparisonOperator: GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: NOT_BREACHING,
        },
      );
      const memoryHigh = this.alarm(
        `${Id}MemoryHigh`,
        `${node}-memory-high`,
        `${node}'s DatabaseMemoryUsagePercentage (used memory / maxmemory) averaged above ${monitoring.memoryAlarmPercent}% over 5 minutes.`,
        {
          metric: metric('DatabaseMemoryUsagePercentage', 'Average'),
          threshold: monitoring.memoryAlarmPercent,
          comparisonOperator: GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: NOT_BREACHING,
        },
      );
      const engineCpuHigh = this.alarm(
        `${Id}EngineCpuHigh`,
        `${node}-engine-cpu-high`,
        `${node}'s engine thread (EngineCPUUtilization) averaged above ${T.engineCpuPercent}% for 15 minutes: Redis itself is saturated.`,
        {
          metric: metric('EngineCPUUtilization', 'Average'),
          threshold: T.engineCpuPercent,
          comparisonOperator: GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: NOT_BREACHING,
        },
      );
      const hostCpuHigh =
        cpuThreshold === undefined
          ? undefined
          : this.alarm(
              `${Id}HostCpuHigh`,
              `${node}-host-cpu-high`,
              `${node}'s host CPU (CPUUtilization, ${engine.node.vcpus} vCPUs) averaged above ${cpuThreshold}% (90% of one core) for 15 minutes.`,
              {
                metric: metric('CPUUtilization', 'Average'),
                threshold: cpuThreshold,
                comparisonOperator: GREATER_THAN_THRESHOLD,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                treatMissingData: NOT_BREACHING,
              },
            );
      // Only a replica publishes ReplicationLag; after a failover any node may be one.
      const replicationLag =
        engine.replicas < 1
          ? undefined
          : this.alarm(
              `${Id}ReplicationLag`,
              `${node}-replication-lag`,
              `${node}, as a replica, averaged more than ${T.replicationLagSeconds} s behind the primary for 10 minutes: a failover now would lose those writes.`,
              {
                metric: metric('ReplicationLag', 'Average'),
                threshold: T.replicationLagSeconds,
                comparisonOperator: GREATER_THAN_THRESHOLD,
                evaluationPeriods: 2,
                datapointsToAlarm: 2,
                treatMissingData: NOT_BREACHING,
              },
            );
      const connectionsNearLimit = this.alarm(
        `${Id}ConnectionsNearLimit`,
        `${node}-connections-near-limit`,
        `${node} held more than ${connectionsThreshold} connections (${T.connectionsPercent}% of ElastiCache's maxclients ${T.maxClients}) within 5 minutes: at the limit new clients are refused.`,
        {
          metric: metric('CurrConnections', 'Maximum'),
          threshold: connectionsThreshold,
          comparisonOperator: GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: NOT_BREACHING,
        },
      );
      const swapHigh = this.alarm(
        `${Id}SwapHigh`,
        `${node}-swap-high`,
        `${node} swapped more than 50 MB (SwapUsage) for 15 minutes: the node is short of memory beyond maxmemory.`,
        {
          metric: metric('SwapUsage', 'Average'),
          threshold: T.swapBytes,
          comparisonOperator: GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: NOT_BREACHING,
        },
      );
      return {
        node,
        evictions,
        memoryHigh,
        engineCpuHigh,
        ...(hostCpuHigh && { hostCpuHigh }),
        ...(replicationLag && { replicationLag }),
        connectionsNearLimit,
        swapHigh,
      };
    });

    const threshold = monitoring.celeryBacklogAlarmThreshold;
    const celeryBacklog =
      threshold === undefined
        ? []
        : monitoring.celeryQueues.map((queue, index) =>
            this.alarm(
              `CeleryQueueBacklog${index}`,
              `celery-queue-backlog-${queue}`,
              `Celery queue "${queue}" held more than ${threshold} messages for 15 minutes: workers are down or too slow.`,
              {
                metric: this.redisMetric(METRIC.CeleryQueueLength, 'Minimum', fiveMinutes, {
                  [QUEUE_DIMENSION]: queue,
                }),
                threshold,
                comparisonOperator: GREATER_THAN_THRESHOLD,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                treatMissingData: NOT_BREACHING,
              },
            ),
          );

    return { primaryUnreachable, authenticationFailures, nodes, celeryBacklog };
  }

  private dashboardRows(): cloudwatch.IWidget[][] {
    const { monitoring, envName, engine, group } = this.props;
    const minute = Duration.minutes(1);
    const perNode = (name: string, statistic: string) =>
      group.nodeIds.map((_id, index) => this.nodeMetric(index, name, statistic, minute, true));
    const graph = (title: string, props: Omit<cloudwatch.GraphWidgetProps, 'title'>) =>
      new cloudwatch.GraphWidget({ title, width: 8, height: 6, ...props });
    const cpuThreshold = hostCpuThreshold(engine.node.vcpus);
    const T = ELASTICACHE_THRESHOLDS;

    return [
      [
        new cloudwatch.TextWidget({
          markdown:
            `# Redis (${envName}) on ElastiCache\n${engine.engine} ${engine.engineVersion}, ${engine.replicas + 1} × \`${engine.nodeType}\`. ` +
            `Node metrics from \`${ELASTICACHE_NAMESPACE}\` (node-001 is the first primary; a failover swaps the roles), ` +
            `Celery queues from the metrics function (\`${METRICS_NAMESPACE}\`, service \`${METRICS_SERVICE}\`). ` +
            'What each alarm means and what to check first: docs/runbook/alarms.md, "ElastiCache stages".',
          width: 24,
          height: 2,
        }),
      ],
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.allAlarms(), width: 24, height: 4 })],
      [
        graph('Memory used, % of maxmemory (per node)', {
          left: perNode('DatabaseMemoryUsagePercentage', 'Maximum'),
          leftYAxis: { min: 0, max: 100, label: '%' },
          leftAnnotations: [{ value: monitoring.memoryAlarmPercent, label: 'alarm' }],
        }),
        graph('Evictions (per minute, per node)', {
          left: perNode('Evictions', 'Sum'),
        }),
        graph('Swap (bytes, per node)', {
          left: perNode('SwapUsage', 'Maximum'),
          leftAnnotations: [{ value: T.swapBytes, label: 'alarm (50 MB)' }],
        }),
      ],
      [
        graph('Engine CPU, % (per node)', {
          left: perNode('EngineCPUUtilization', 'Average'),
          leftYAxis: { min: 0, max: 100 },
          leftAnnotations: [{ value: T.engineCpuPercent, label: 'alarm' }],
        }),
        graph('Host CPU, % (per node)', {
          left: perNode('CPUUtilization', 'Average'),
          leftYAxis: { min: 0, max: 100 },
          ...(cpuThreshold !== undefined && { leftAnnotations: [{ value: cpuThreshold, label: 'alarm' }] }),
        }),
        graph('Connections (per node)', {
          left: perNode('CurrConnections', 'Maximum'),
          right: perNode('NewConnections', 'Sum'),
        }),
      ],
      [
        graph('Replication lag, seconds (the replicas)', {
          left: perNode('ReplicationLag', 'Maximum'),
          ...(engine.replicas >= 1 && {
            leftAnnotations: [{ value: T.replicationLagSeconds, label: 'alarm' }],
          }),
        }),
        graph('Celery queues', {
          left: monitoring.celeryQueues.map((queue) =>
            this.redisMetric(METRIC.CeleryQueueLength, 'Maximum', minute, { [QUEUE_DIMENSION]: queue }),
          ),
          ...(monitoring.celeryBacklogAlarmThreshold !== undefined && {
            leftAnnotations: [{ value: monitoring.celeryBacklogAlarmThreshold, label: 'backlog alarm' }],
          }),
        }),
        graph('Primary reachable (1 = sampled); failed AUTHs', {
          left: [this.redisMetric(METRIC.RedisUp, 'Minimum', minute)],
          leftYAxis: { min: 0, max: 1.1 },
          right: perNode('AuthenticationFailures', 'Sum'),
        }),
      ],
    ];
  }
}
