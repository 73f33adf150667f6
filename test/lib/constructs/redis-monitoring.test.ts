import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { devConfig, type StageConfig } from '../../../lib/config';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { caCertificateRef, logicalId, STAGE_CONFIG, STAGES, type SynthesizedApp, synthesize } from '../synth';

type Json = Record<string, unknown>;

/** A stage with every monitoring option away from its default (and weekly backups). */
const CUSTOM: StageConfig = {
  ...devConfig,
  stageName: 'Qa',
  envName: 'qa',
  dnsNamespace: 'qa.emailclient.internal',
  vpc: { kind: 'new', cidr: '10.40.0.0/16', maxAzs: 2 },
  backupIntervalHours: 168,
  backupRetentionDays: 30,
  alarmEmail: 'oncall@example.com',
  monitoring: {
    metricsIntervalMinutes: 2,
    downAlarmMinutes: 6,
    celeryQueues: ['celery', 'emails'],
    celeryQueueDatabase: 2,
    celeryBacklogAlarmThreshold: 500,
    memoryAlarmPercent: 80,
  },
};

let synthesized: SynthesizedApp;
let custom: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
  custom = synthesize({ stages: [CUSTOM] });
});
afterAll(() => {
  synthesized?.cleanup();
  custom?.cleanup();
});

/** What an alarm watches and when it fires, in the terms the expectations use. */
function alarmShape(properties: Json): Json {
  return {
    metric: properties.MetricName,
    namespace: properties.Namespace,
    dimensions: dimensions(properties),
    statistic: properties.Statistic,
    period: properties.Period,
    threshold: properties.Threshold,
    comparison: properties.ComparisonOperator,
    evaluationPeriods: properties.EvaluationPeriods,
    datapointsToAlarm: properties.DatapointsToAlarm,
    missing: properties.TreatMissingData,
  };
}

/** The properties of the alarm with this name. */
function alarm(template: Template, name: string): Json {
  const found = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }),
  ) as { Properties: Json }[];
  expect(found).toHaveLength(1);
  return (found[0] as { Properties: Json }).Properties;
}

/** Dimensions as a plain object. */
function dimensions(properties: Json): Json {
  const list = (properties.Dimensions ?? []) as { Name: string; Value: unknown }[];
  return Object.fromEntries(list.map(({ Name, Value }) => [Name, Value]));
}

interface ExpectedAlarm {
  readonly metric: string;
  readonly namespace: string;
  readonly dimensions: Json;
  readonly statistic: string;
  readonly period: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly evaluationPeriods: number;
  /** undefined = every evaluation period (CloudFormation's default) */
  readonly datapointsToAlarm?: number;
  readonly missing: 'breaching' | 'notBreaching';
}

describe.each(STAGES)('%s/Redis monitoring', (stageName) => {
  const config = STAGE_CONFIG[stageName];
  const env = config.envName;
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = synthesized.stage(stageName).redisStack;
    template = synthesized.template(stageName);
  });

  const redisDims = () => ({ service: 'redis-metrics', Stage: env });
  const backupDims = () => ({ service: 'redis-backup', Stage: env });
  const serviceDims = () => ({
    ClusterName: { Ref: logicalId(stack.redis.cluster) },
    ServiceName: { 'Fn::GetAtt': [logicalId(stack.redis.service), 'Name'] },
  });
  const NS = 'EmailPlatform/Redis';

  const EXPECTED: Record<string, () => ExpectedAlarm> = {
    unreachable: () => ({
      metric: 'RedisUp',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Maximum',
      period: 60,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      missing: 'breaching',
    }),
    evictions: () => ({
      metric: 'EvictedKeys',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Sum',
      period: 300,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'memory-above-maxmemory-threshold': () => ({
      metric: 'MemoryUsedPercent',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Average',
      period: 300,
      threshold: 90,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'rdb-save-failing': () => ({
      metric: 'RdbLastBgsaveOk',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Minimum',
      period: 300,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'aof-write-failing': () => ({
      metric: 'AofLastWriteOk',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Minimum',
      period: 300,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'aof-rewrite-failing': () => ({
      metric: 'AofLastRewriteOk',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Minimum',
      period: 300,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'no-running-task': () => ({
      metric: 'RunningTaskCount',
      namespace: 'ECS/ContainerInsights',
      dimensions: serviceDims(),
      statistic: 'Maximum',
      period: 60,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      missing: 'breaching',
    }),
    'task-cpu-high': () => ({
      metric: 'CPUUtilization',
      namespace: 'AWS/ECS',
      dimensions: serviceDims(),
      statistic: 'Average',
      period: 300,
      threshold: 80,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      missing: 'notBreaching',
    }),
    'task-memory-high': () => ({
      metric: 'MemoryUtilization',
      namespace: 'AWS/ECS',
      dimensions: serviceDims(),
      statistic: 'Maximum',
      period: 300,
      threshold: 85,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      missing: 'notBreaching',
    }),
    'task-stopped-unexpectedly': () => ({
      metric: 'UnexpectedTaskStops',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Sum',
      period: 300,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'backup-failed': () => ({
      metric: 'BackupFailed',
      namespace: NS,
      dimensions: backupDims(),
      statistic: 'Sum',
      period: 3600,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
    'backup-missing': () => ({
      metric: 'BackupSucceeded',
      namespace: NS,
      dimensions: backupDims(),
      statistic: 'Sum',
      period: 3600,
      threshold: 1,
      comparison: 'LessThanThreshold',
      // daily backups + the default 3 h margin: 27 hourly periods without a success
      evaluationPeriods: config.backupIntervalHours + 3,
      datapointsToAlarm: config.backupIntervalHours + 3,
      missing: 'breaching',
    }),
    // TLS stages (every real stage): the certificate Redis serves, as the metrics function reads it
    // from the handshake; the weekly renewal replaces it 60 days ahead.
    'tls-certificate-expiring': () => ({
      metric: 'TlsCertificateDaysLeft',
      namespace: NS,
      dimensions: redisDims(),
      statistic: 'Minimum',
      period: 3600,
      threshold: 14,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 1,
      missing: 'notBreaching',
    }),
  };

  describe('alarms', () => {
    it.each(Object.keys(EXPECTED))(
      'emailclient-redis-<stage>-%s: metric, statistic, period, threshold, comparison, missing data, actions',
      (meaning) => {
        const expected = (EXPECTED[meaning] as () => ExpectedAlarm)();
        const properties = alarm(template, `emailclient-redis-${env}-${meaning}`);
        expect(alarmShape(properties)).toEqual(expected);
        const topic = { Ref: logicalId(stack.monitoring.topic) };
        expect(properties.AlarmActions).toEqual([topic]);
        expect(properties.OKActions).toEqual([topic]);
        expect(properties.AlarmDescription).toMatch(
          new RegExp(`^Redis \\(${env}\\): .+ Runbook: docs/runbook/alarms\\.md, "${meaning}"\\.$`),
        );
      },
    );

    it('every alarm has its section in the runbook that its description names', () => {
      const runbook = readFileSync(join(__dirname, '../../../docs/runbook/alarms.md'), 'utf8');
      const sections = [...runbook.matchAll(/^### (.+)$/gm)].map((match) => match[1] as string);
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThanOrEqual(Object.keys(EXPECTED).length);
      for (const resource of alarms) {
        const named = /Runbook: docs\/runbook\/alarms\.md, "([^"]+)"\.$/.exec(
          String(resource.Properties.AlarmDescription),
        )?.[1];
        expect(named).toBeDefined();
        expect(sections.filter((section) => section.includes(`\`${named}\``))).toHaveLength(1);
      }
    });

    it('fragmentation: the ratio above 1.5 for 15 minutes, only while over 100 MiB are fragmented', () => {
      const properties = alarm(template, `emailclient-redis-${env}-fragmentation-high`);
      expect(properties).toMatchObject({
        Threshold: 1.5,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
        OKActions: [{ Ref: logicalId(stack.monitoring.topic) }],
      });
      const metrics = properties.Metrics as Json[];
      expect(metrics[0]).toMatchObject({ Expression: 'IF(bytes > 104857600, ratio, 0)', ReturnData: true });
      expect(
        metrics.slice(1).map((query) => {
          const stat = query.MetricStat as { Metric: Json; Period: number; Stat: string };
          return [
            query.Id,
            query.ReturnData,
            stat.Metric.MetricName,
            stat.Stat,
            stat.Period,
            dimensions(stat.Metric),
          ];
        }),
      ).toEqual([
        ['ratio', false, 'FragmentationRatio', 'Average', 300, redisDims()],
        ['bytes', false, 'FragmentationBytes', 'Average', 300, redisDims()],
      ]);
    });

    it('no recent save: changes unsaved for over 60 minutes (an idle Redis with nothing to save stays OK)', () => {
      const properties = alarm(template, `emailclient-redis-${env}-no-recent-save`);
      expect(properties).toMatchObject({
        Threshold: 3600,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        OKActions: [{ Ref: logicalId(stack.monitoring.topic) }],
      });
      const metrics = properties.Metrics as Json[];
      expect(metrics[0]).toMatchObject({ Expression: 'IF(unsaved > 0, seconds, 0)', ReturnData: true });
      expect(
        metrics.slice(1).map((query) => {
          const stat = query.MetricStat as { Metric: Json; Period: number; Stat: string };
          return [query.Id, stat.Metric.MetricName, stat.Stat, stat.Period, dimensions(stat.Metric)];
        }),
      ).toEqual([
        ['seconds', 'SecondsSinceLastSave', 'Minimum', 300, redisDims()],
        ['unsaved', 'UnsavedChanges', 'Minimum', 300, redisDims()],
      ]);
    });

    it('has exactly these alarms (no Celery backlog alarm by default), all named after the stage', () => {
      const names = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
        .map((resource) => (resource as { Properties: Json }).Properties.AlarmName as string)
        .sort();
      expect(names).toEqual(
        [...Object.keys(EXPECTED), 'fragmentation-high', 'no-recent-save']
          .map((meaning) => `emailclient-redis-${env}-${meaning}`)
          .sort(),
      );
    });
  });

  describe('alarm topic', () => {
    it('is encrypted with the stage key, TLS only, and lets only this stage’s CloudWatch alarms publish', () => {
      template.hasResourceProperties('AWS::SNS::Topic', {
        DisplayName: `Redis (${env}) alarms`,
        KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
      });
      const alarmArn = Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`:alarm:emailclient-redis-${env}-\\*$`)])],
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: logicalId(stack.monitoring.topic) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Principal: '*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Action: 'sns:Publish',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Condition: {
                StringEquals: { 'aws:SourceAccount': Match.anyValue() },
                ArnLike: { 'aws:SourceArn': alarmArn },
              },
            }),
          ]),
        },
      });
      // Without Decrypt/GenerateDataKey on the key, CloudWatch drops every notification silently.
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'AllowCloudWatchAlarmsToNotify',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Condition: {
                StringEquals: { 'aws:SourceAccount': Match.anyValue() },
                ArnLike: { 'aws:SourceArn': alarmArn },
              },
            }),
          ]),
        },
      });
    });

    it('has no e-mail subscription when the stage sets no alarmEmail, and synth says nobody is notified', () => {
      expect(config.alarmEmail).toBeUndefined();
      template.resourceCountIs('AWS::SNS::Subscription', 0);
      expect(synthesized.warnings(stageName)).toContainEqual(
        expect.stringMatching(/\/Redis\/Monitoring: No alarmEmail for this stage: its alarms notify nobody/),
      );
    });

    it('is an output, with the dashboard name', () => {
      template.hasOutput('AlarmTopicArn', { Value: { Ref: logicalId(stack.monitoring.topic) } });
      template.hasOutput('DashboardName', { Value: { Ref: logicalId(stack.monitoring.dashboard) } });
    });
  });

  describe('metrics function', () => {
    it('runs Node.js 24 in the private subnets, in the functions security group, with its settings', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('publishes INFO, DBSIZE and Celery queue metrics'),
        Runtime: 'nodejs24.x',
        Timeout: 30,
        VpcConfig: {
          SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack.redis.functionsSecurityGroup), 'GroupId'] }],
          SubnetIds: Match.anyValue(),
        },
        Environment: {
          Variables: Match.objectLike({
            STAGE: env,
            // TLS on 6380, verified with the stage CA (the certificate custom resource's attribute).
            REDIS_PORT: '6380',
            REDIS_TLS_CA: caCertificateRef(stack),
            MONITOR_SECRET_ARN: { Ref: logicalId(stack.redis.secrets.monitorPassword) },
            METRICS_INTERVAL_SECONDS: '60',
            CELERY_QUEUES: 'celery',
            CELERY_QUEUE_DATABASE: '0',
          }),
        },
      });
    });

    it('may read the monitor secret and list the stage’s snapshots, nothing else (besides logs, ENIs, Decrypt)', () => {
      const policies = template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalId(stack.monitoring.function.role) }] },
      });
      const statements = Object.values(policies).flatMap(
        (policy) =>
          (policy as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument
            .Statement,
      );
      const actions = statements.flatMap((statement) => [statement.Action].flat() as string[]).sort();
      expect(actions).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'ec2:AssignPrivateIpAddresses',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:UnassignPrivateIpAddresses',
          'kms:Decrypt',
          's3:ListBucket',
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ].sort(),
      );
      // Listing keys only (no GetObject), only under this stage's snapshot folder.
      expect(statements.filter((statement) => statement.Action === 's3:ListBucket')).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalId(stack.backup.bucket), 'Arn'] },
          Condition: { StringLike: { 's3:prefix': [`snapshots/${config.envName}/*`] } },
        }),
      ]);
      const secretStatements = statements.filter((statement) =>
        JSON.stringify(statement.Action).includes('secretsmanager:'),
      );
      expect(secretStatements.map((statement) => statement.Resource)).toEqual([
        { Ref: logicalId(stack.redis.secrets.monitorPassword) },
      ]);
    });

    it('runs every minute, without retries (a late sample is worth nothing)', () => {
      const fn = { 'Fn::GetAtt': [logicalId(stack.monitoring.function.function), 'Arn'] };
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: fn, RetryPolicy: { MaximumRetryAttempts: 0 } })],
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(stack.monitoring.function.function) },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 300,
      });
    });

    it('receives the "task stopped" events of the Redis service only', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.ecs'],
          'detail-type': ['ECS Task State Change'],
          detail: {
            clusterArn: [{ 'Fn::GetAtt': [logicalId(stack.redis.cluster), 'Arn'] }],
            group: [
              { 'Fn::Join': ['', ['service:', { 'Fn::GetAtt': [logicalId(stack.redis.service), 'Name'] }]] },
            ],
            lastStatus: ['STOPPED'],
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack.monitoring.function.function), 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
          }),
        ],
      });
    });
  });

  describe('dashboard', () => {
    it('exists per stage with the widgets of the issue', () => {
      const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as {
        Properties: Json;
      }[];
      expect(dashboards).toHaveLength(1);
      const properties = (dashboards[0] as { Properties: Json }).Properties;
      expect(properties.DashboardName).toBe(`emailclient-redis-${env}`);
      const body = JSON.stringify(properties.DashboardBody);
      for (const title of [
        'Alarms',
        'Memory vs maxmemory',
        'Evictions and expirations',
        'Clients',
        'Ops per second and hit rate',
        'Persistence status',
        'Backups: succeeded / failed',
        'Backups: size and duration',
        'Task CPU and memory',
        'Celery queues',
        'Keys per database',
      ]) {
        expect(body).toContain(`\\"title\\":\\"${title}`);
      }
      for (const metric of [
        'MaxMemory',
        'EvictedKeys',
        'HitRate',
        'RdbLastBgsaveOk',
        'BackupBytes',
        'CeleryQueueLength',
      ]) {
        expect(body).toContain(`\\"${metric}\\"`);
      }
    });
  });
});

describe('a stage with every monitoring option set (and weekly backups)', () => {
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = custom.stage('Qa').redisStack;
    template = custom.template('Qa');
  });

  it('samples on its own interval, and the unreachable alarm follows it', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          METRICS_INTERVAL_SECONDS: '120',
          CELERY_QUEUES: 'celery,emails',
          CELERY_QUEUE_DATABASE: '2',
        }),
      },
    });
    expect(alarm(template, 'emailclient-redis-qa-unreachable')).toMatchObject({
      Period: 120,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    });
    expect(alarm(template, 'emailclient-redis-qa-no-running-task')).toMatchObject({
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
    });
    expect(alarm(template, 'emailclient-redis-qa-memory-above-maxmemory-threshold').Threshold).toBe(80);
  });

  it.each(['celery', 'emails'])(
    'alarms on a backlog of queue %s above the threshold for 15 minutes',
    (queue) => {
      const properties = alarm(template, `emailclient-redis-qa-celery-backlog-${queue}`);
      expect(properties).toMatchObject({
        MetricName: 'CeleryQueueLength',
        Namespace: 'EmailPlatform/Redis',
        Statistic: 'Minimum',
        Period: 300,
        Threshold: 500,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
        OKActions: [{ Ref: logicalId(stack.monitoring.topic) }],
      });
      expect(dimensions(properties)).toEqual({ service: 'redis-metrics', Stage: 'qa', Queue: queue });
    },
  );

  it('subscribes the alarm e-mail to the topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: logicalId(stack.monitoring.topic) },
    });
  });

  it('alarms on a missing weekly backup from the newest snapshot age (beyond CloudWatch’s 7 days of look-back)', () => {
    const properties = alarm(template, 'emailclient-redis-qa-backup-missing');
    expect(alarmShape(properties)).toEqual({
      metric: 'LatestSnapshotAgeHours',
      namespace: 'EmailPlatform/Redis',
      dimensions: { service: 'redis-metrics', Stage: 'qa' },
      statistic: 'Minimum',
      period: 3600,
      // weekly + the default 3 h margin
      threshold: 171,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      missing: 'breaching',
    });
    expect(properties.AlarmActions).toEqual([{ Ref: logicalId(stack.monitoring.topic) }]);
    expect(custom.warnings('Qa').join('\n')).not.toMatch(/missing backup/);
    // The metrics function looks a day beyond the threshold, so "no snapshot found" breaches.
    const environment =
      template.toJSON().Resources[logicalId(stack.monitoring.function.function)].Properties.Environment
        .Variables;
    expect(environment).toMatchObject({
      SNAPSHOT_STAGE_PREFIX: 'snapshots/qa/',
      SNAPSHOT_LOOKBACK_HOURS: '195',
      BACKUP_BUCKET: { Ref: logicalId(stack.backup.bucket) },
    });
  });
});

describe('first deploy: the alarms wait for their first data (FirstDataGate)', () => {
  type Resource = { Type: string; Properties: Json; DependsOn?: string[] };

  function resources(template: Template): Record<string, Resource> {
    return template.toJSON().Resources as Record<string, Resource>;
  }
  /** The gate's Metrics property as JSON, with deploy-time references as `<Ref>` placeholders. */
  function awaitedMetrics(gate: Resource): Json[] {
    const text = (value: unknown): string => {
      if (typeof value === 'string') return value;
      const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
      return join ? join[1].map(text).join(join[0]) : '<Ref>';
    };
    return JSON.parse(text(gate.Properties.Metrics)) as Json[];
  }

  function gateOf(template: Template): [string, Resource] {
    const gates = Object.entries(resources(template)).filter(
      ([, r]) => r.Type === 'Custom::RedisFirstDataGate',
    );
    expect(gates).toHaveLength(1);
    return gates[0] as [string, Resource];
  }

  it.each(STAGES)(
    '%s: every alarm is created after the gate, the gate after the Redis service and the metrics schedule',
    (stageName) => {
      const template = synthesized.template(stageName);
      const stack = synthesized.stage(stageName).redisStack;
      const [gateId, gate] = gateOf(template);
      const alarms = Object.values(resources(template)).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
      expect(alarms.length).toBe(stack.monitoring.allAlarms().length);
      for (const alarm of alarms) expect(alarm.DependsOn).toContain(gateId);
      expect(gate.DependsOn).toEqual(
        expect.arrayContaining([
          logicalId(stack.redis.service),
          expect.stringMatching(/^MonitoringSchedule/),
        ]),
      );
    },
  );

  it('starts the stage backup function once and waits for RedisUp, a running task and the backup metric', () => {
    const template = synthesized.template('Dev');
    const stack = synthesized.stage('Dev').redisStack;
    const [, gate] = gateOf(template);
    expect(gate.Properties.BackupFunctionName).toEqual({ Ref: logicalId(stack.backup.function.function) });
    const metrics = awaitedMetrics(gate);
    expect(metrics.map((metric) => `${metric.namespace}/${metric.metricName}`)).toEqual([
      'EmailPlatform/Redis/RedisUp',
      'ECS/ContainerInsights/RunningTaskCount',
      'EmailPlatform/Redis/BackupSucceeded',
    ]);
    expect(metrics[0]?.dimensions).toEqual({ service: 'redis-metrics', Stage: 'dev' });
  });

  it("waits for the backup function's own success where backups are weekly too (the snapshot age exists before any snapshot)", () => {
    const [, gate] = gateOf(custom.template('Qa'));
    const metrics = awaitedMetrics(gate);
    expect(metrics[2]).toMatchObject({
      metricName: 'BackupSucceeded',
      dimensions: { service: 'redis-backup', Stage: 'qa' },
      statistic: 'Sum',
      atLeast: 1,
    });
  });

  it('counts only good data: Redis up (Maximum >= 1), a running task, a succeeded backup; skips stages with alarms', () => {
    const [, gate] = gateOf(synthesized.template('Dev'));
    expect(
      awaitedMetrics(gate).map((metric) => [metric.metricName, metric.statistic, metric.atLeast]),
    ).toEqual([
      ['RedisUp', 'Maximum', 1],
      ['RunningTaskCount', 'Maximum', 1],
      ['BackupSucceeded', 'Sum', 1],
    ]);
    expect(gate.Properties.AlarmNamePrefix).toBe('emailclient-redis-dev-');
  });

  it('runs its function outside the VPC, allowed only to read metrics and invoke that one backup function', () => {
    const template = synthesized.template('Dev');
    const stack = synthesized.stage('Dev').redisStack;
    const gateFunction = stack.monitoring.firstDataGate.node.findChild('Function') as unknown as {
      function: import('aws-cdk-lib/aws-lambda').Function;
      role: import('aws-cdk-lib/aws-iam').Role;
    };
    const fn = resources(template)[logicalId(gateFunction.function)];
    expect(fn?.Properties.VpcConfig).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(gateFunction.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'ReadMetrics', Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' },
          {
            Sid: 'StartFirstBackup',
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: { 'Fn::GetAtt': [logicalId(stack.backup.function.function), 'Arn'] },
          },
        ]),
      },
    });
  });
});
