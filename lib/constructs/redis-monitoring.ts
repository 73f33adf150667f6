import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  BACKUP_METRIC,
  BACKUP_SERVICE,
  METRIC,
  METRICS_SERVICE,
  QUEUE_DIMENSION,
  SERVICE_DIMENSION,
} from '../../lambda/shared/metric-names';
import { METRICS_NAMESPACE, STAGE_DIMENSION } from '../../lambda/shared/observability';
import { MAX_ALARM_WINDOW_HOURS, type ResolvedMonitoringConfig } from '../config/monitoring';
import { addAlarmTopic, stageAlarmNamePrefix } from './alarm-topic';
import { FirstDataGate } from './first-data-gate';
import { ProjectFunction } from './project-function';
import type { RedisService } from './redis-service';

/**
 * Fragmentation below this is never alarmed, whatever the ratio: a small Redis always shows a
 * high ratio (RSS includes the allocator's fixed overhead). Redis's own active-defrag-ignore-bytes.
 */
export const FRAGMENTATION_MIN_BYTES = 100 * 1024 * 1024;

export interface RedisMonitoringProps {
  /** The Redis service: VPC, functions security group, monitor secret, key, cluster and service. */
  readonly redis: RedisService;
  /** Lower-case stage name: in alarm names, the Stage dimension and the dashboard name. */
  readonly envName: string;
  /** The stage's monitoring settings, defaults filled in (resolveMonitoring). */
  readonly monitoring: ResolvedMonitoringConfig;
  /** Hours between two backups (the missing-backup alarm's window is this + the margin). */
  readonly backupIntervalHours: number;
  /**
   * Where the backups land: the metrics function lists (only) the stage's snapshot folder to
   * publish LatestSnapshotAgeHours.
   */
  readonly backups: {
    readonly bucket: s3.IBucket;
    readonly snapshotPrefix: string;
    /** The backup function: the first deploy runs it once, so a first snapshot exists on day one. */
    readonly function: lambda.IFunction;
  };
  /** Subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the function's log group. */
  readonly removalPolicy: RemovalPolicy;
}

/** Days before the served certificate's expiry at which its alarm fires. */
export const TLS_CERTIFICATE_ALARM_DAYS = 14;

/** The alarms, by meaning. `celeryBacklog` has one alarm per configured queue, when enabled. */
export interface RedisAlarms {
  readonly redisUnreachable: cloudwatch.Alarm;
  readonly evictions: cloudwatch.Alarm;
  readonly memoryHigh: cloudwatch.Alarm;
  readonly fragmentationHigh: cloudwatch.Alarm;
  readonly rdbSaveFailing: cloudwatch.Alarm;
  readonly aofWriteFailing: cloudwatch.Alarm;
  readonly aofRewriteFailing: cloudwatch.Alarm;
  readonly unsavedChangesOld: cloudwatch.Alarm;
  readonly noRunningTask: cloudwatch.Alarm;
  readonly taskCpuHigh: cloudwatch.Alarm;
  readonly taskMemoryHigh: cloudwatch.Alarm;
  readonly taskStoppedUnexpectedly: cloudwatch.Alarm;
  readonly backupFailed: cloudwatch.Alarm;
  /**
   * No backup for interval + margin hours. From the backup function's BackupSucceeded while that
   * window fits CloudWatch's 7 days; beyond (weekly backups) from LatestSnapshotAgeHours.
   */
  readonly backupMissing: cloudwatch.Alarm;
  readonly celeryBacklog: readonly cloudwatch.Alarm[];
  /** The certificate Redis serves expires within 14 days (TLS stages only). */
  readonly tlsCertificateExpiring?: cloudwatch.Alarm;
}

/**
 * Observability of one stage's Redis: what ElastiCache users get for free, published ourselves.
 *
 * - Metrics function (lambda/metrics) in the VPC, in the functions security group, on a schedule
 *   from the stage config (default every minute): INFO, DBSIZE per database and the Celery queue
 *   lengths as the `monitor` ACL user, published as EMF (namespace EmailPlatform/Redis, dimensions
 *   service + Stage). The same function receives the Redis service's "task stopped" events and
 *   counts the unexpected ones. IAM: its log group, the VPC network interfaces, the monitor
 *   secret and Decrypt on the stage key; nothing else.
 * - One SNS topic per stage, encrypted with the stage key, TLS only, e-mail subscription from the
 *   config; every alarm notifies it on ALARM and on OK.
 * - The alarms of `RedisAlarms` (docs/runbook/alarms.md says what each means and what
 *   to check first) and one dashboard per stage.
 */
export class RedisMonitoring extends Construct {
  /** Where every alarm of the stage notifies (ALARM and OK). */
  public readonly topic: sns.Topic;
  public readonly function: ProjectFunction;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: RedisAlarms;
  /** Alarm names start with this: `emailclient-redis-<stage>-`. */
  public readonly alarmNamePrefix: string;
  /** Holds the alarms of a first deploy until their metrics have data. */
  public readonly firstDataGate: FirstDataGate;

  private readonly props: RedisMonitoringProps;

  constructor(scope: Construct, id: string, props: RedisMonitoringProps) {
    super(scope, id);
    this.props = props;
    const { redis, envName, monitoring } = props;
    this.alarmNamePrefix = stageAlarmNamePrefix(envName);

    // --- Alarm topic -------------------------------------------------------------------------
    this.topic = addAlarmTopic(this, {
      envName,
      kmsKey: redis.kmsKey,
      alarmNamePrefix: this.alarmNamePrefix,
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
    });

    // --- Metrics function ------------------------------------------------------------------
    const intervalMinutes = monitoring.metricsIntervalMinutes;
    this.function = new ProjectFunction(this, 'Function', {
      handlerFolder: 'metrics',
      description: `Redis (${envName}): publishes INFO, DBSIZE and Celery queue metrics, counts task stops`,
      timeout: Duration.seconds(30),
      network: { vpc: redis.vpc, subnets: redis.subnets, securityGroup: redis.functionsSecurityGroup },
      kmsKey: redis.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        STAGE: envName,
        REDIS_HOST: redis.hostName,
        REDIS_PORT: String(redis.tlsPort ?? redis.port),
        // With TLS: verify Redis with the stage's CA (a public certificate, not a secret).
        ...(redis.caCertificatePem !== undefined && { REDIS_TLS_CA: redis.caCertificatePem }),
        MONITOR_SECRET_ARN: redis.secrets.monitorPassword.secretArn,
        METRICS_INTERVAL_SECONDS: String(intervalMinutes * 60),
        CELERY_QUEUES: monitoring.celeryQueues.join(','),
        CELERY_QUEUE_DATABASE: String(monitoring.celeryQueueDatabase),
        BACKUP_BUCKET: props.backups.bucket.bucketName,
        SNAPSHOT_STAGE_PREFIX: props.backups.snapshotPrefix,
        SNAPSHOT_LOOKBACK_HOURS: String(snapshotLookbackHours(props)),
      },
    });
    redis.secrets.monitorPassword.grantRead(this.function.role);
    // The snapshot age: list the keys of this stage's snapshot folder, nothing else (no GetObject).
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListThisStagesSnapshots',
        actions: ['s3:ListBucket'],
        resources: [props.backups.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${props.backups.snapshotPrefix}*`] } },
      }),
    );
    // A late sample is worth nothing (the next one comes anyway), and the function does not throw
    // for a Redis outage: no retries of failed or throttled invocations.
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });

    const schedule = new events.Rule(this, 'Schedule', {
      description: `Redis (${envName}) metrics every ${intervalMinutes} minute(s)`,
      schedule: events.Schedule.rate(Duration.minutes(intervalMinutes)),
      targets: [new targets.LambdaFunction(this.function.function, { retryAttempts: 0 })],
    });
    new events.Rule(this, 'TaskStopped', {
      description: `Redis (${envName}): a task of the Redis service stopped`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [redis.cluster.clusterArn],
          group: [`service:${redis.service.serviceName}`],
          lastStatus: ['STOPPED'],
        },
      },
      targets: [
        new targets.LambdaFunction(this.function.function, {
          retryAttempts: 4,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    // --- Alarms ------------------------------------------------------------------------------
    this.alarms = this.createAlarms();
    const action = new cloudwatchActions.SnsAction(this.topic);
    // The alarms that count missing data as breaching exist only once their metrics have data: a
    // first deploy must not page for "unreachable" (no sample yet) or "backup missing" (no backup
    // yet). The gate runs a first backup and waits for the first data (Create only).
    this.firstDataGate = new FirstDataGate(this, 'FirstDataGate', {
      envName,
      firstBackup: props.backups.function,
      alarmNamePrefix: this.alarmNamePrefix,
      metrics: [
        {
          metric: this.alarms.redisUnreachable.metric as cloudwatch.Metric,
          statistic: 'Maximum',
          atLeast: 1,
          missingMeans:
            'the metrics function never found Redis up: Redis unreachable, or the function failing (see their log groups)',
        },
        {
          metric: this.alarms.noRunningTask.metric as cloudwatch.Metric,
          statistic: 'Maximum',
          atLeast: 1,
          missingMeans: 'Container Insights reported no running Redis task',
        },
        {
          // The backup function's own metric, whatever the alarm watches (weekly stages watch the
          // snapshot age, which the metrics function publishes even before the first snapshot).
          metric: this.backupMetric(BACKUP_METRIC.BackupSucceeded, 'Sum', Duration.hours(1)),
          statistic: 'Sum',
          atLeast: 1,
          missingMeans: "the first backup did not succeed (see the backup function's log group)",
        },
      ],
      kmsKey: redis.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Redis must run and be sampled before the gate can see its data.
    this.firstDataGate.node.addDependency(redis.service, schedule);
    for (const alarm of this.allAlarms()) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarm.node.addDependency(this.firstDataGate.resource);
    }

    // --- Dashboard ---------------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `emailclient-redis-${envName}`,
      defaultInterval: Duration.hours(3),
      widgets: this.dashboardRows(),
    });
  }

  /** Every alarm of the stage. */
  public allAlarms(): cloudwatch.Alarm[] {
    const { celeryBacklog, ...single } = this.alarms;
    return [...Object.values(single).filter((alarm) => alarm !== undefined), ...celeryBacklog];
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

  /** A metric of the backup function (dimensions service + Stage). */
  private backupMetric(name: string, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { [SERVICE_DIMENSION]: BACKUP_SERVICE, [STAGE_DIMENSION]: this.props.envName },
      statistic,
      period,
    });
  }

  /** A metric of the Redis ECS service (AWS/ECS or Container Insights). */
  private serviceMetric(
    namespace: string,
    name: string,
    statistic: string,
    period: Duration,
  ): cloudwatch.Metric {
    const { redis } = this.props;
    return new cloudwatch.Metric({
      namespace,
      metricName: name,
      dimensionsMap: { ClusterName: redis.cluster.clusterName, ServiceName: redis.service.serviceName },
      statistic,
      period,
    });
  }

  private alarm(
    id: string,
    meaning: string,
    description: string,
    props: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>,
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmName: `${this.alarmNamePrefix}${meaning}`,
      // On-call reads this in the alarm's email: the runbook page, and the section named after the alarm.
      alarmDescription: `Redis (${this.props.envName}): ${description} Runbook: docs/runbook/alarms.md, "${meaning.replace(/^celery-backlog-.*/, 'celery-backlog-<queue>')}".`,
      ...props,
    });
  }

  private createAlarms(): RedisAlarms {
    const { monitoring } = this.props;
    const fiveMinutes = Duration.minutes(5);
    const interval = Duration.minutes(monitoring.metricsIntervalMinutes);
    const downPeriods = Math.ceil(monitoring.downAlarmMinutes / monitoring.metricsIntervalMinutes);
    const { GREATER_THAN_THRESHOLD, GREATER_THAN_OR_EQUAL_TO_THRESHOLD, LESS_THAN_THRESHOLD } =
      cloudwatch.ComparisonOperator;
    const { BREACHING, NOT_BREACHING } = cloudwatch.TreatMissingData;

    const redisUnreachable = this.alarm(
      'RedisUnreachable',
      'unreachable',
      `the metrics function could not sample Redis (unreachable, credentials refused) or published nothing, for ${monitoring.downAlarmMinutes} minutes.`,
      {
        metric: this.redisMetric(METRIC.RedisUp, 'Maximum', interval),
        threshold: 1,
        comparisonOperator: LESS_THAN_THRESHOLD,
        evaluationPeriods: downPeriods,
        datapointsToAlarm: downPeriods,
        treatMissingData: BREACHING,
      },
    );
    const evictions = this.alarm(
      'Evictions',
      'evictions',
      'Redis evicted keys within 5 minutes (maxmemory reached): with allkeys-lru they may be Celery broker keys.',
      {
        metric: this.redisMetric(METRIC.EvictedKeys, 'Sum', fiveMinutes),
        threshold: 1,
        comparisonOperator: GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );
    const memoryHigh = this.alarm(
      'MemoryHigh',
      'memory-above-maxmemory-threshold',
      `used memory averaged above ${monitoring.memoryAlarmPercent}% of maxmemory over 5 minutes.`,
      {
        metric: this.redisMetric(METRIC.MemoryUsedPercent, 'Average', fiveMinutes),
        threshold: monitoring.memoryAlarmPercent,
        comparisonOperator: GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );
    const fragmentationHigh = this.alarm(
      'FragmentationHigh',
      'fragmentation-high',
      `mem_fragmentation_ratio above ${monitoring.fragmentationAlarmRatio} (with over ${FRAGMENTATION_MIN_BYTES / 1024 / 1024} MiB fragmented) for 15 minutes.`,
      {
        metric: new cloudwatch.MathExpression({
          expression: `IF(bytes > ${FRAGMENTATION_MIN_BYTES}, ratio, 0)`,
          usingMetrics: {
            ratio: this.redisMetric(METRIC.FragmentationRatio, 'Average', fiveMinutes),
            bytes: this.redisMetric(METRIC.FragmentationBytes, 'Average', fiveMinutes),
          },
          label: 'Fragmentation ratio (when over 100 MiB)',
          period: fiveMinutes,
        }),
        threshold: monitoring.fragmentationAlarmRatio,
        comparisonOperator: GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: NOT_BREACHING,
      },
    );
    const flagAlarm = (id: string, meaning: string, description: string, metric: string) =>
      this.alarm(id, meaning, description, {
        metric: this.redisMetric(metric, 'Minimum', fiveMinutes),
        threshold: 1,
        comparisonOperator: LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      });
    const rdbSaveFailing = flagAlarm(
      'RdbSaveFailing',
      'rdb-save-failing',
      'the last RDB save (BGSAVE) failed: with stop-writes-on-bgsave-error Redis now REFUSES WRITES.',
      METRIC.RdbLastBgsaveOk,
    );
    const aofWriteFailing = flagAlarm(
      'AofWriteFailing',
      'aof-write-failing',
      'the last write to the append-only file failed: acknowledged writes may not be on disk.',
      METRIC.AofLastWriteOk,
    );
    const aofRewriteFailing = flagAlarm(
      'AofRewriteFailing',
      'aof-rewrite-failing',
      'the last AOF rewrite failed: the AOF keeps growing and restarts get slower.',
      METRIC.AofLastRewriteOk,
    );
    const unsavedChangesOld = this.alarm(
      'UnsavedChangesOld',
      'no-recent-save',
      `changes have waited over ${monitoring.unsavedChangesAlarmMinutes} minutes for a successful RDB save.`,
      {
        metric: new cloudwatch.MathExpression({
          expression: 'IF(unsaved > 0, seconds, 0)',
          usingMetrics: {
            seconds: this.redisMetric(METRIC.SecondsSinceLastSave, 'Minimum', fiveMinutes),
            unsaved: this.redisMetric(METRIC.UnsavedChanges, 'Minimum', fiveMinutes),
          },
          label: 'Seconds since the last save, while changes are unsaved',
          period: fiveMinutes,
        }),
        threshold: monitoring.unsavedChangesAlarmMinutes * 60,
        comparisonOperator: GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );

    const noRunningTask = this.alarm(
      'NoRunningTask',
      'no-running-task',
      `the ECS service ran no Redis task for ${monitoring.downAlarmMinutes} minutes (no data counts as none).`,
      {
        metric: this.serviceMetric(
          'ECS/ContainerInsights',
          'RunningTaskCount',
          'Maximum',
          Duration.minutes(1),
        ),
        threshold: 1,
        comparisonOperator: LESS_THAN_THRESHOLD,
        evaluationPeriods: monitoring.downAlarmMinutes,
        datapointsToAlarm: monitoring.downAlarmMinutes,
        treatMissingData: BREACHING,
      },
    );
    const taskCpuHigh = this.alarm(
      'TaskCpuHigh',
      'task-cpu-high',
      `the Redis task's CPU averaged above ${monitoring.taskCpuAlarmPercent}% of its reservation for 15 minutes.`,
      {
        metric: this.serviceMetric('AWS/ECS', 'CPUUtilization', 'Average', fiveMinutes),
        threshold: monitoring.taskCpuAlarmPercent,
        comparisonOperator: GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: NOT_BREACHING,
      },
    );
    const taskMemoryHigh = this.alarm(
      'TaskMemoryHigh',
      'task-memory-high',
      `the Redis task's memory peaked above ${monitoring.taskMemoryAlarmPercent}% of the task memory in two consecutive 5-minute periods: at 100% the task is killed (OOM).`,
      {
        metric: this.serviceMetric('AWS/ECS', 'MemoryUtilization', 'Maximum', fiveMinutes),
        threshold: monitoring.taskMemoryAlarmPercent,
        comparisonOperator: GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: NOT_BREACHING,
      },
    );
    const taskStoppedUnexpectedly = this.alarm(
      'TaskStoppedUnexpectedly',
      'task-stopped-unexpectedly',
      'a Redis task stopped for another reason than a deployment (crash, failed health check, OOM, Fargate): the stop reason is in the metrics function log.',
      {
        metric: this.redisMetric(METRIC.UnexpectedTaskStops, 'Sum', fiveMinutes),
        threshold: 1,
        comparisonOperator: GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );

    const backupFailed = this.alarm(
      'BackupFailed',
      'backup-failed',
      'a backup run failed within the last hour (the function retries twice, then the event goes to the dead-letter queue).',
      {
        metric: this.backupMetric(BACKUP_METRIC.BackupFailed, 'Sum', Duration.hours(1)),
        threshold: 1,
        comparisonOperator: GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: NOT_BREACHING,
      },
    );
    const missingHours = missingBackupHours(this.props);
    const missingDescription = `no backup succeeded for ${missingHours} hours (interval ${this.props.backupIntervalHours} h + ${monitoring.backupAlarmMarginHours} h): failing, or the schedule stopped.`;
    const backupMissing =
      missingHours <= MAX_ALARM_WINDOW_HOURS
        ? this.alarm('BackupMissing', 'backup-missing', missingDescription, {
            metric: this.backupMetric(BACKUP_METRIC.BackupSucceeded, 'Sum', Duration.hours(1)),
            threshold: 1,
            comparisonOperator: LESS_THAN_THRESHOLD,
            evaluationPeriods: missingHours,
            datapointsToAlarm: missingHours,
            treatMissingData: BREACHING,
          })
        : // Beyond CloudWatch's 7-day look-back (weekly backups): the newest snapshot's age, as the
          // metrics function reads it from the bucket. Missing data (the function cannot list the
          // bucket, or does not run) is breaching too.
          this.alarm('BackupMissing', 'backup-missing', missingDescription, {
            metric: this.redisMetric(METRIC.LatestSnapshotAgeHours, 'Minimum', Duration.hours(1)),
            threshold: missingHours,
            comparisonOperator: GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: BREACHING,
          });

    const threshold = monitoring.celeryBacklogAlarmThreshold;
    const celeryBacklog =
      threshold === undefined
        ? []
        : monitoring.celeryQueues.map((queue, index) =>
            this.alarm(
              `CeleryBacklog${index}`,
              `celery-backlog-${queue}`,
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

    // The certificate Redis serves (read by the metrics function from the handshake): the weekly
    // renewal replaces it 60 days ahead, so 14 days left means two renewals failed or never reached Redis.
    const tlsCertificateExpiring =
      this.props.redis.tlsMode === 'off'
        ? undefined
        : this.alarm(
            'TlsCertificateExpiring',
            'tls-certificate-expiring',
            `the TLS certificate Redis serves expires in under ${TLS_CERTIFICATE_ALARM_DAYS} days: the weekly renewal failed or did not restart Redis.`,
            {
              metric: this.redisMetric(METRIC.TlsCertificateDaysLeft, 'Minimum', Duration.hours(1)),
              threshold: TLS_CERTIFICATE_ALARM_DAYS,
              comparisonOperator: LESS_THAN_THRESHOLD,
              evaluationPeriods: 1,
              treatMissingData: NOT_BREACHING,
            },
          );

    return {
      ...(tlsCertificateExpiring && { tlsCertificateExpiring }),
      redisUnreachable,
      evictions,
      memoryHigh,
      fragmentationHigh,
      rdbSaveFailing,
      aofWriteFailing,
      aofRewriteFailing,
      unsavedChangesOld,
      noRunningTask,
      taskCpuHigh,
      taskMemoryHigh,
      taskStoppedUnexpectedly,
      backupFailed,
      backupMissing,
      celeryBacklog,
    };
  }

  private dashboardRows(): cloudwatch.IWidget[][] {
    const { monitoring, envName } = this.props;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const m = (name: string, statistic: string, period = minute, extra: Record<string, string> = {}) =>
      this.redisMetric(name, statistic, period, extra);
    const graph = (title: string, props: Omit<cloudwatch.GraphWidgetProps, 'title'>) =>
      new cloudwatch.GraphWidget({ title, width: 8, height: 6, ...props });
    const backupPeriod = Duration.hours(Math.min(this.props.backupIntervalHours, 24));
    const backup = (name: string, statistic: string) => this.backupMetric(name, statistic, backupPeriod);

    return [
      [
        new cloudwatch.TextWidget({
          markdown:
            `# Redis (${envName})\nMetrics of the metrics function (namespace \`${METRICS_NAMESPACE}\`, ` +
            `service \`${METRICS_SERVICE}\`), the backup function and the ECS service. What each alarm means ` +
            'and what to check first: docs/runbook/alarms.md.',
          width: 24,
          height: 2,
        }),
      ],
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.allAlarms(), width: 24, height: 4 })],
      [
        graph('Memory vs maxmemory', {
          left: [
            m(METRIC.UsedMemory, 'Maximum'),
            m(METRIC.UsedMemoryRss, 'Maximum'),
            m(METRIC.MaxMemory, 'Maximum'),
          ],
          right: [m(METRIC.MemoryUsedPercent, 'Maximum')],
          rightYAxis: { min: 0, max: 100, label: '% of maxmemory' },
          rightAnnotations: [{ value: monitoring.memoryAlarmPercent, label: 'alarm' }],
        }),
        graph('Evictions and expirations (per minute)', {
          left: [m(METRIC.EvictedKeys, 'Sum'), m(METRIC.ExpiredKeys, 'Sum')],
          right: [m(METRIC.EvictedKeysSinceStart, 'Maximum')],
        }),
        graph('Fragmentation', {
          left: [m(METRIC.FragmentationRatio, 'Average')],
          right: [m(METRIC.FragmentationBytes, 'Average')],
          leftAnnotations: [{ value: monitoring.fragmentationAlarmRatio, label: 'alarm (if > 100 MiB)' }],
        }),
      ],
      [
        graph('Clients', {
          left: [
            m(METRIC.ConnectedClients, 'Maximum'),
            m(METRIC.BlockedClients, 'Maximum'),
            m(METRIC.RejectedConnections, 'Sum'),
          ],
        }),
        graph('Ops per second and hit rate', {
          left: [m(METRIC.OpsPerSecond, 'Average')],
          right: [m(METRIC.HitRate, 'Average')],
          rightYAxis: { min: 0, max: 100, label: '%' },
        }),
        graph('Keys per database', {
          left: [
            m(METRIC.Keys, 'Maximum'),
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},${SERVICE_DIMENSION},${STAGE_DIMENSION},Database} MetricName="${METRIC.Keys}" ${STAGE_DIMENSION}="${envName}"', 'Maximum', 60)`,
              label: '',
              period: minute,
            }),
          ],
        }),
      ],
      [
        graph('Persistence status (1 = ok)', {
          left: [
            m(METRIC.RdbLastBgsaveOk, 'Minimum'),
            m(METRIC.AofLastWriteOk, 'Minimum'),
            m(METRIC.AofLastRewriteOk, 'Minimum'),
            m(METRIC.RedisUp, 'Minimum'),
          ],
          leftYAxis: { min: 0, max: 1.1 },
        }),
        graph('Since last save; AOF size', {
          left: [m(METRIC.SecondsSinceLastSave, 'Maximum'), m(METRIC.UnsavedChanges, 'Maximum')],
          right: [m(METRIC.AofSize, 'Maximum')],
        }),
        graph('Celery queues', {
          left: monitoring.celeryQueues.map((queue) =>
            m(METRIC.CeleryQueueLength, 'Maximum', minute, { [QUEUE_DIMENSION]: queue }),
          ),
          ...(monitoring.celeryBacklogAlarmThreshold !== undefined && {
            leftAnnotations: [{ value: monitoring.celeryBacklogAlarmThreshold, label: 'backlog alarm' }],
          }),
        }),
      ],
      [
        graph('Backups: succeeded / failed; newest snapshot age (h)', {
          left: [backup(BACKUP_METRIC.BackupSucceeded, 'Sum'), backup(BACKUP_METRIC.BackupFailed, 'Sum')],
          right: [m(METRIC.LatestSnapshotAgeHours, 'Maximum', Duration.hours(1))],
          rightAnnotations: [
            {
              value: missingBackupHours(this.props),
              label: 'backup-missing',
            },
          ],
          start: '-P14D',
        }),
        graph('Backups: size and duration', {
          left: [backup(BACKUP_METRIC.BackupBytes, 'Maximum')],
          right: [backup(BACKUP_METRIC.BackupDurationMs, 'Maximum')],
          start: '-P14D',
        }),
        graph('Task CPU and memory (% of the task)', {
          left: [
            this.serviceMetric('AWS/ECS', 'CPUUtilization', 'Average', minute),
            this.serviceMetric('AWS/ECS', 'MemoryUtilization', 'Maximum', minute),
          ],
          right: [
            this.serviceMetric('ECS/ContainerInsights', 'RunningTaskCount', 'Maximum', minute),
            m(METRIC.UnexpectedTaskStops, 'Sum', fiveMinutes),
          ],
          leftYAxis: { min: 0, max: 100 },
        }),
      ],
    ];
  }
}

type BackupTiming = Pick<RedisMonitoringProps, 'backupIntervalHours' | 'monitoring'>;

/** Hours without a backup after which backup-missing fires: the interval plus the margin. */
function missingBackupHours(props: BackupTiming): number {
  return props.backupIntervalHours + props.monitoring.backupAlarmMarginHours;
}

/**
 * How far back the metrics function looks for the newest snapshot: a day beyond the
 * missing-backup threshold, so "none found" always reads as older than the threshold.
 */
function snapshotLookbackHours(props: BackupTiming): number {
  return missingBackupHours(props) + 24;
}
