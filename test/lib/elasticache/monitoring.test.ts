import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { devConfig, type StageConfig } from '../../../lib/config';
import type { ElastiCacheEngineConfig } from '../../../lib/config/engine';
import { AMAZON_ROOT_CAS_PEM } from '../../../lib/constructs/elasticache/amazon-root-cas';
import { ElastiCacheRedisStack } from '../../../lib/stacks/elasticache-redis-stack';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { CDK_JSON_CONTEXT, findings, logicalId, type SynthesizedApp, synthesize } from '../synth';

type Json = Record<string, unknown>;

// The monitoring of an ElastiCache stage (lib/constructs/elasticache/elasticache-monitoring.ts),
// synthesized in its real stack through bin/app.ts (cdk-nag included), beside a Fargate stage with
// the same Celery queues to compare alarm names with.

/** Dev on two small burstable nodes (2 vCPUs: host CPU watched), one of them a replica. */
const SMALL: StageConfig = {
  ...devConfig,
  engine: { kind: 'elasticache', nodeType: 'cache.t4g.small', replicas: 1 },
};
/** One 4-vCPU node, no replica, every monitoring option away from its default. */
const LARGE: StageConfig = {
  ...devConfig,
  stageName: 'Qa',
  envName: 'qa',
  dnsNamespace: 'qa.emailclient.internal',
  vpc: { kind: 'new', cidr: '10.40.0.0/16', maxAzs: 2 },
  alarmEmail: 'oncall@example.com',
  engine: { kind: 'elasticache', nodeType: 'cache.m7g.xlarge', replicas: 0 },
  monitoring: {
    metricsIntervalMinutes: 2,
    downAlarmMinutes: 6,
    celeryQueues: ['celery', 'emails'],
    celeryQueueDatabase: 2,
    celeryBacklogAlarmThreshold: 500,
    memoryAlarmPercent: 80,
  },
};
/** A Fargate stage with every alarm it can have (TLS, Celery backlog on the same queues). */
const FARGATE: StageConfig = {
  ...devConfig,
  stageName: 'Fg',
  envName: 'fg',
  dnsNamespace: 'fg.emailclient.internal',
  vpc: { kind: 'new', cidr: '10.50.0.0/16', maxAzs: 2 },
  monitoring: { celeryQueues: ['celery', 'emails'], celeryBacklogAlarmThreshold: 500 },
};

const ACTIONS_OF = (stack: ElastiCacheRedisStack) => [{ Ref: logicalId(stack.monitoring.topic) }];

let synthesized: SynthesizedApp;
/** LARGE's stack alone, without cdk-nag: a group without replica is refused by AEC4 (not Multi-AZ) in bin/app.ts. */
let large: ElastiCacheRedisStack;
let largeOutdir: string;
beforeAll(() => {
  synthesized = synthesize({ stages: [SMALL, FARGATE] });
  largeOutdir = mkdtempSync(join(tmpdir(), 'redis-cdk-test-'));
  const app = new App({
    outdir: largeOutdir,
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] },
  });
  large = new ElastiCacheRedisStack(app, 'Qa', {
    config: LARGE as StageConfig & { engine: ElastiCacheEngineConfig },
  });
  // Synthesis prints the stack's warnings (maxmemory-policy): not this test's subject.
  const quiet = jest.spyOn(console, 'error').mockImplementation(() => {});
  try {
    templates.set('Qa', Template.fromStack(large));
  } finally {
    quiet.mockRestore();
  }
});
afterAll(() => {
  synthesized?.cleanup();
  if (largeOutdir) rmSync(largeOutdir, { recursive: true, force: true });
});

function elastiCacheStack(stageName: string): ElastiCacheRedisStack {
  return stageName === 'Qa' ? large : synthesized.stage(stageName).elastiCacheStack;
}
/** The templates, synthesized once each. */
const templates = new Map<string, Template>();
function templateOf(stageName: string): Template {
  let template = templates.get(stageName);
  if (template === undefined) {
    template = Template.fromStack(synthesized.stage(stageName).stack);
    templates.set(stageName, template);
  }
  return template;
}

/** Every alarm of a template, by name. */
function alarmsByName(template: Template): Map<string, Json> {
  return new Map(
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((resource) => {
      const properties = (resource as { Properties: Json }).Properties;
      return [properties.AlarmName as string, properties];
    }),
  );
}

function alarm(template: Template, name: string): Json {
  const found = alarmsByName(template).get(name);
  if (found === undefined) throw new Error(`no alarm ${name}`);
  return found;
}

function dimensions(properties: Json): Json {
  const list = (properties.Dimensions ?? []) as { Name: string; Value: unknown }[];
  return Object.fromEntries(list.map(({ Name, Value }) => [Name, Value]));
}

/** What an alarm watches and when it fires. */
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

/** The CacheClusterId of node `n` (1-based): `<replication group id>-00n`. */
function nodeId(stack: ElastiCacheRedisStack, n: number): Json {
  return { 'Fn::Join': ['-', [{ Ref: cfnId(stack.elastiCache.replicationGroup) }, `00${n}`]] };
}

/** The per-node alarms: meaning -> metric, statistic, threshold, comparison, evaluation periods. */
function nodeAlarms(config: { memoryPercent: number; hostCpu?: number; replicas: boolean }) {
  return {
    evictions: ['Evictions', 'Sum', 1, 'GreaterThanOrEqualToThreshold', 1],
    'memory-high': [
      'DatabaseMemoryUsagePercentage',
      'Average',
      config.memoryPercent,
      'GreaterThanThreshold',
      1,
    ],
    'engine-cpu-high': ['EngineCPUUtilization', 'Average', 90, 'GreaterThanThreshold', 3],
    ...(config.hostCpu !== undefined && {
      'host-cpu-high': ['CPUUtilization', 'Average', config.hostCpu, 'GreaterThanThreshold', 3],
    }),
    ...(config.replicas && {
      'replication-lag': ['ReplicationLag', 'Average', 10, 'GreaterThanThreshold', 2],
    }),
    'connections-near-limit': ['CurrConnections', 'Maximum', 52_000, 'GreaterThanThreshold', 1],
    'swap-high': ['SwapUsage', 'Average', 50 * 1024 * 1024, 'GreaterThanThreshold', 3],
  } as Record<string, [string, string, number, string, number]>;
}

describe('Dev on ElastiCache: two cache.t4g.small nodes (one replica)', () => {
  let stack: ElastiCacheRedisStack;
  let template: Template;
  beforeAll(() => {
    stack = elastiCacheStack('Dev');
    template = templateOf('Dev');
  });
  const expected = nodeAlarms({ memoryPercent: 90, hostCpu: 45, replicas: true });

  it('has exactly these alarms: per node, authentication failures and the primary reachability (no backlog alarm by default)', () => {
    const perNode = ['node-001', 'node-002'].flatMap((node) =>
      Object.keys(expected).map((m) => `${node}-${m}`),
    );
    expect([...alarmsByName(template).keys()].sort()).toEqual(
      ['primary-unreachable', 'authentication-failures', ...perNode]
        .map((m) => `emailclient-redis-dev-${m}`)
        .sort(),
    );
  });

  it.each(Object.keys(expected))(
    'node-00n-%s: the AWS/ElastiCache metric of each node (CacheClusterId), threshold, topic on ALARM and OK',
    (meaning) => {
      const [metric, statistic, threshold, comparison, periods] = expected[meaning] as [
        string,
        string,
        number,
        string,
        number,
      ];
      for (const n of [1, 2]) {
        const properties = alarm(template, `emailclient-redis-dev-node-00${n}-${meaning}`);
        expect(alarmShape(properties)).toEqual({
          metric,
          namespace: 'AWS/ElastiCache',
          dimensions: { CacheClusterId: nodeId(stack, n) },
          statistic,
          period: 300,
          threshold,
          comparison,
          evaluationPeriods: periods,
          datapointsToAlarm: periods === 1 ? undefined : periods,
          missing: 'notBreaching',
        });
        expect(properties.AlarmActions).toEqual(ACTIONS_OF(stack));
        expect(properties.OKActions).toEqual(ACTIONS_OF(stack));
        expect(properties.AlarmDescription).toMatch(
          new RegExp(
            `^Redis \\(dev, ElastiCache\\): node-00${n}\\b.+ Runbook: docs/runbook/alarms\\.md, "node-<n>-${meaning}"\\.$`,
          ),
        );
      }
    },
  );

  it('host CPU on a 2-vCPU node alarms at 90 % of one core: 45 % of the host (AWS: 90 / vCPUs)', () => {
    expect(alarm(template, 'emailclient-redis-dev-node-001-host-cpu-high').Threshold).toBe(45);
  });

  it('authentication-failures: 10 or more failed AUTHs in 5 minutes, summed over every node', () => {
    const properties = alarm(template, 'emailclient-redis-dev-authentication-failures');
    expect(properties).toMatchObject({
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: ACTIONS_OF(stack),
      OKActions: ACTIONS_OF(stack),
    });
    const [expression, ...queries] = properties.Metrics as Json[];
    expect(expression).toMatchObject({ Expression: 'SUM(METRICS())', ReturnData: true });
    expect(
      queries.map((query) => {
        const stat = query.MetricStat as { Metric: Json; Period: number; Stat: string };
        return [
          stat.Metric.Namespace,
          stat.Metric.MetricName,
          stat.Stat,
          stat.Period,
          dimensions(stat.Metric),
        ];
      }),
    ).toEqual(
      [1, 2].map((n) => [
        'AWS/ElastiCache',
        'AuthenticationFailures',
        'Sum',
        300,
        { CacheClusterId: nodeId(stack, n) },
      ]),
    );
  });

  it('primary-unreachable: RedisUp of the metrics function, missing data breaching, held by the first-data gate', () => {
    expect(alarmShape(alarm(template, 'emailclient-redis-dev-primary-unreachable'))).toEqual({
      metric: 'RedisUp',
      namespace: 'EmailPlatform/Redis',
      dimensions: { service: 'redis-metrics', Stage: 'dev' },
      statistic: 'Maximum',
      period: 60,
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      missing: 'breaching',
    });
    const gate = logicalId(stack.monitoring.firstDataGate.resource);
    for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(resource.DependsOn).toContain(gate);
    }
  });

  it('the first-data gate waits for RedisUp only, and starts no backup (this engine has no backup function)', () => {
    const gates = Object.values(template.findResources('Custom::RedisFirstDataGate'));
    expect(gates).toHaveLength(1);
    const properties = (gates[0] as { Properties: Json }).Properties;
    expect(properties.BackupFunctionName).toBeUndefined();
    expect(JSON.parse(properties.Metrics as string)).toEqual([
      expect.objectContaining({
        namespace: 'EmailPlatform/Redis',
        metricName: 'RedisUp',
        dimensions: { service: 'redis-metrics', Stage: 'dev' },
        statistic: 'Maximum',
        atLeast: 1,
      }),
    ]);
    const gateRole = stack.monitoring.firstDataGate.node.findChild('Function').node.findChild('Role');
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalId(gateRole) }] },
      }),
    );
    expect(JSON.stringify(policies)).toContain('cloudwatch:GetMetricData');
    expect(JSON.stringify(policies)).not.toContain('lambda:InvokeFunction');
    // The group (with its monitor user) and the schedule exist before the gate waits for data.
    expect((gates[0] as { DependsOn: string[] }).DependsOn).toEqual(
      expect.arrayContaining([
        cfnId(stack.elastiCache.replicationGroup),
        logicalId(stack.monitoring.node.findChild('Schedule')),
      ]),
    );
  });

  describe('metrics function', () => {
    function metricsFunction(): Json {
      const found = Object.values(
        template.findResources('AWS::Lambda::Function', {
          Properties: {
            Description: Match.stringLikeRegexp('ElastiCache\\): publishes Celery queue depths'),
          },
        }),
      );
      expect(found).toHaveLength(1);
      return (found[0] as { Properties: Json }).Properties;
    }

    it('samples the primary endpoint on 6380 as monitor, TLS verified with the Amazon root CAs; no backup bucket, no certificate expiry', () => {
      const { Variables } = metricsFunction().Environment as { Variables: Record<string, unknown> };
      expect(Variables).toEqual({
        STAGE: 'dev',
        REDIS_HOST: {
          'Fn::GetAtt': [cfnId(stack.elastiCache.replicationGroup), 'PrimaryEndPoint.Address'],
        },
        REDIS_PORT: '6380',
        REDIS_TLS_CA: AMAZON_ROOT_CAS_PEM,
        MONITOR_USERNAME: 'monitor',
        MONITOR_SECRET_ARN: {
          Ref: logicalId(stack.node.findChild('Secrets').node.findChild('MonitorPassword')),
        },
        METRICS_INTERVAL_SECONDS: '60',
        CELERY_QUEUES: 'celery',
        CELERY_QUEUE_DATABASE: '0',
        PUBLISH_TLS_CERTIFICATE_EXPIRY: 'false',
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(Object.keys(Variables).filter((name) => /BACKUP|SNAPSHOT|S3/.test(name))).toEqual([]);
    });

    it('fits Lambda’s 4 KB of environment variables with real-length endpoint and secret ARN', () => {
      const { Variables } = metricsFunction().Environment as { Variables: Record<string, unknown> };
      const realistic = {
        ...Variables,
        REDIS_HOST: `master.${'x'.repeat(40)}.abcdef.euw1.cache.amazonaws.com`,
        MONITOR_SECRET_ARN: `arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:${'x'.repeat(60)}-AbCdEf`,
      };
      expect(Buffer.byteLength(JSON.stringify(realistic))).toBeLessThan(4096);
    });

    it('runs in the private subnets and the functions security group, on the schedule, without retries', () => {
      expect(metricsFunction()).toMatchObject({
        Runtime: 'nodejs24.x',
        VpcConfig: {
          SecurityGroupIds: [
            { 'Fn::GetAtt': [logicalId(stack.securityGroups.functionsSecurityGroup), 'GroupId'] },
          ],
        },
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack.monitoring.function.function), 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 0 },
          }),
        ],
      });
    });

    it('may read the monitor secret (and decrypt with the stage key), nothing else: no S3, no ECS', () => {
      const policies = Object.values(
        template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: logicalId(stack.monitoring.function.role) }] },
        }),
      ) as { Properties: { PolicyDocument: { Statement: Json[] } } }[];
      const actions = policies
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
        .flatMap((statement) => [statement.Action].flat() as string[])
        .sort();
      expect(actions).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
          'kms:Decrypt',
          'secretsmanager:GetSecretValue',
          'secretsmanager:DescribeSecret',
        ].sort(),
      );
    });
  });

  it('nothing of the monitoring refers to ECS, EFS, backups or restores; the only rule is the schedule', () => {
    const resources = template.toJSON().Resources as Record<string, Json>;
    const ours = stack.monitoring.node
      .findAll()
      .filter((construct): construct is CfnResource => construct instanceof CfnResource)
      .map((resource) => resources[stack.resolve(stack.getLogicalId(resource)) as string]);
    expect(ours.length).toBeGreaterThan(20);
    const text = JSON.stringify(ours);
    for (const word of [
      'AWS/ECS',
      'ECS/ContainerInsights',
      'aws.ecs',
      'EFS',
      'elasticfilesystem',
      'redis-backup',
      'Backup',
      'Restore',
    ]) {
      expect(text).not.toContain(word);
    }
    expect(Object.keys(template.findResources('AWS::Events::Rule'))).toEqual([
      logicalId(stack.monitoring.node.findChild('Schedule')),
    ]);
  });

  describe('dashboard', () => {
    function body(): string {
      const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      return JSON.stringify((dashboards[0] as { Properties: Json }).Properties.DashboardBody);
    }

    it('is emailclient-redis-<stage>, as on Fargate', () => {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: 'emailclient-redis-dev',
      });
    });

    it('shows alarm status, per-node memory, CPU, connections, evictions, swap, replication lag, and the Celery queues', () => {
      const text = body();
      for (const part of [
        'alarm',
        'DatabaseMemoryUsagePercentage',
        'EngineCPUUtilization',
        'CPUUtilization',
        'CurrConnections',
        'Evictions',
        'SwapUsage',
        'ReplicationLag',
        'CeleryQueueLength',
        'RedisUp',
        'AWS/ElastiCache',
        'CacheClusterId',
      ]) {
        expect(text).toContain(part);
      }
      for (const alarmName of alarmsByName(template).keys()) {
        expect(text).toContain(logicalIdFromName(template, alarmName));
      }
    });

    it('refers to no ECS, Container Insights, EFS, backup or restore metric', () => {
      const text = body();
      for (const word of ['AWS/ECS', 'ECS/ContainerInsights', 'EFS', 'redis-backup', 'Backup', 'Restore']) {
        expect(text).not.toContain(word);
      }
    });
  });
});

describe('Qa on ElastiCache: one cache.m7g.xlarge node, every monitoring option set', () => {
  let stack: ElastiCacheRedisStack;
  let template: Template;
  beforeAll(() => {
    stack = elastiCacheStack('Qa');
    template = templateOf('Qa');
  });

  it('has no host-CPU alarm (4 vCPUs: the engine CPU tells) and no replication-lag alarm (no replica)', () => {
    const expected = nodeAlarms({ memoryPercent: 80, replicas: false });
    expect([...alarmsByName(template).keys()].sort()).toEqual(
      [
        'primary-unreachable',
        'authentication-failures',
        'celery-queue-backlog-celery',
        'celery-queue-backlog-emails',
        ...Object.keys(expected).map((m) => `node-001-${m}`),
      ]
        .map((m) => `emailclient-redis-qa-${m}`)
        .sort(),
    );
    expect(alarm(template, 'emailclient-redis-qa-node-001-memory-high').Threshold).toBe(80);
  });

  it('alarms on each Celery queue’s backlog, and samples on its own interval', () => {
    for (const queue of ['celery', 'emails']) {
      const properties = alarm(template, `emailclient-redis-qa-celery-queue-backlog-${queue}`);
      expect(alarmShape(properties)).toEqual({
        metric: 'CeleryQueueLength',
        namespace: 'EmailPlatform/Redis',
        dimensions: { service: 'redis-metrics', Stage: 'qa', Queue: queue },
        statistic: 'Minimum',
        period: 300,
        threshold: 500,
        comparison: 'GreaterThanThreshold',
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        missing: 'notBreaching',
      });
      expect(properties.OKActions).toEqual(ACTIONS_OF(stack));
      expect(properties.AlarmDescription).toMatch(
        /Runbook: docs\/runbook\/alarms\.md, "celery-queue-backlog-<queue>"\.$/,
      );
    }
    expect(alarm(template, 'emailclient-redis-qa-primary-unreachable')).toMatchObject({
      Period: 120,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CELERY_QUEUES: 'celery,emails',
          CELERY_QUEUE_DATABASE: '2',
          METRICS_INTERVAL_SECONDS: '120',
        }),
      },
    });
  });

  it('subscribes the alarm e-mail to the topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: logicalId(stack.monitoring.topic) },
    });
  });
});

describe('switching engine: what stays, what must not collide', () => {
  let fargate: RedisStack;
  let fargateTemplate: Template;
  beforeAll(() => {
    fargate = synthesized.stage('Fg').redisStack;
    fargateTemplate = templateOf('Fg');
  });

  /** An alarm name without its stage prefix. */
  const meanings = (template: Template, env: string) =>
    [...alarmsByName(template).keys()].map((name) => name.slice(`emailclient-redis-${env}-`.length));

  it('no ElastiCache alarm has the name of a Fargate alarm (names are physical: the new ones are created first)', () => {
    const fargateMeanings = meanings(fargateTemplate, 'fg');
    expect(fargateMeanings).toEqual(
      expect.arrayContaining(['unreachable', 'evictions', 'celery-backlog-emails']),
    );
    for (const [stage, env] of [
      ['Dev', 'dev'],
      ['Qa', 'qa'],
    ] as const) {
      const ours = meanings(templateOf(stage), env);
      expect(ours.filter((meaning) => fargateMeanings.includes(meaning))).toEqual([]);
    }
  });

  it('the topic and the dashboard keep their construct paths, hence their logical ids (and the topic its subscriptions)', () => {
    const stack = elastiCacheStack('Dev');
    expect(stack.monitoring.topic.node.path).toBe('Dev/Redis/Monitoring/AlarmTopic');
    expect(fargate.monitoring.topic.node.path).toBe('Fg/Redis/Monitoring/AlarmTopic');
    expect(logicalId(stack.monitoring.topic)).toBe(logicalId(fargate.monitoring.topic));
    expect(logicalId(stack.monitoring.dashboard)).toBe(logicalId(fargate.monitoring.dashboard));
  });

  it('the topic is the Fargate stage’s: encrypted with the stage key, TLS only, publishable by this stage’s alarms only', () => {
    const stack = elastiCacheStack('Dev');
    const template = templateOf('Dev');
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Redis (dev) alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack.kmsKey), 'Arn'] },
    });
    const alarmArn = Match.objectLike({
      'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':alarm:emailclient-redis-dev-\\*$')])],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalId(stack.monitoring.topic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': Match.anyValue() },
              ArnLike: { 'aws:SourceArn': alarmArn },
            },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsToNotify',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});

describe('runbook and cdk-nag', () => {
  it('every ElastiCache alarm has its section in the runbook that its description names', () => {
    const runbook = readFileSync(join(__dirname, '../../../docs/runbook/alarms.md'), 'utf8');
    const sections = [...runbook.matchAll(/^### (.+)$/gm)].map((match) => match[1] as string);
    for (const stage of ['Dev', 'Qa']) {
      for (const properties of alarmsByName(templateOf(stage)).values()) {
        const named = /Runbook: docs\/runbook\/alarms\.md, "([^"]+)"\.$/.exec(
          String(properties.AlarmDescription),
        )?.[1];
        expect(named).toBeDefined();
        expect(sections.filter((section) => section.includes(`\`${named}\``))).toHaveLength(1);
      }
    }
  });

  it('reports no unacknowledged AwsSolutions finding on the monitoring', () => {
    const ours = findings(synthesized.validationReport(), 'AwsSolutions').filter((line) =>
      / @ Dev\/Redis\/Monitoring\//.test(line),
    );
    expect(ours).toEqual([]);
  });

  it('acknowledges only the ProjectFunction and first-data-gate findings, each on one construct', () => {
    const stack = elastiCacheStack('Dev');
    const acknowledged = stack.monitoring.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
          .filter((id) => id.startsWith('Annotation::AwsSolutions-'))
          .map(
            (id) =>
              `${construct.node.path.slice('Dev/Redis/Monitoring/'.length)} ${id.replace('Annotation::', '')}`,
          ),
      )
      .sort();
    // The same paths, hence the same logical ids, as a Fargate stage's (test/lib/nag.test.ts).
    expect(acknowledged).toEqual(
      [
        // The metrics function's ENI actions and its log streams (ProjectFunction).
        'Function/Role AwsSolutions-IAM5[Resource::*]',
        'Function/Role AwsSolutions-IAM5[Resource::<MonitoringFunctionLogs53232268.Arn>]',
        // The gate: GetMetricData (no resource-level permissions), this stage's alarms, its log
        // streams; the CDK Provider framework's relay function.
        'FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::*]',
        'FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:emailclient-redis-dev-*]',
        'FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::<MonitoringFirstDataGateFunctionLogsB650A87E.Arn>]',
        'FirstDataGate/Provider AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'FirstDataGate/Provider AwsSolutions-IAM5[Resource::<MonitoringFirstDataGateFunction69C87832.Arn>:*]',
      ].sort(),
    );
  });
});

/** The logical id of a CloudFormation resource construct (logicalId takes its parent). */
function cfnId(element: CfnElement): string {
  const stack = Stack.of(element);
  return stack.resolve(stack.getLogicalId(element));
}

/** The logical id of the alarm with this name in the template. */
function logicalIdFromName(template: Template, alarmName: string): string {
  const [id] = Object.keys(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: alarmName } }),
  );
  if (id === undefined) throw new Error(`no alarm ${alarmName}`);
  return id;
}

describe("the metrics function's environment and Lambda's 4 KB", () => {
  it('fails synth, naming the stage and the field, when the Celery queue names do not fit beside the CA bundle', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'redis-cdk-test-'));
    try {
      const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
      const queues = Array.from({ length: 10 }, (_, index) => `${'q'.repeat(60)}-${index}`);
      expect(
        () =>
          new ElastiCacheRedisStack(app, 'Long', {
            config: {
              ...(LARGE as StageConfig & { engine: ElastiCacheEngineConfig }),
              monitoring: { celeryQueues: queues },
            },
          }),
      ).toThrow(
        /^Stage 'qa': the ElastiCache metrics function's environment needs about \d+ bytes, over Lambda's 4096 .+ Shorten monitoring\.celeryQueues/,
      );
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
