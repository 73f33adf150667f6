import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { devConfig, type StageConfig } from '../../../lib/config';
import { grantRedisConnect } from '../../../lib/constructs/redis-consumer';
import { PUBLIC_CLIENT_CIDR_WARNING_ID } from '../../../lib/constructs/redis-security-groups';
import type { RedisStage } from '../../../lib/stages/redis-stage';
import { logicalId, type SynthesizedApp, synthesize } from '../synth';

/** The warnings about the eviction policy (the Redis service's), not the other constructs'. */
function evictionWarnings(synthesized: SynthesizedApp, stageName: string): string[] {
  return synthesized.warnings(stageName).filter((warning) => /\/Redis\/Redis: /.test(warning));
}

/**
 * A reference to an output of Dev/Redis. cdk.json asks for "weak" cross-stack references: the
 * consumer reads the Redis stack's output with Fn::GetStackOutput, and the Redis stack exports
 * nothing that CloudFormation would then refuse to change.
 */
function fromRedisStack(outputPattern: string) {
  return {
    'Fn::GetStackOutput': Match.objectLike({
      StackName: 'Dev-Redis',
      OutputName: Match.stringLikeRegexp(outputPattern),
    }),
  };
}

/** A minimal email-service worker in its own stack of the Dev stage, nag-clean. */
function addConsumer(stage: RedisStage, id: string): ecs.FargateService {
  const redis = stage.redisStack.redis;
  const stack = new Stack(stage, id);
  const cluster = new ecs.Cluster(stack, 'Cluster', {
    vpc: redis.vpc,
    containerInsightsV2: ecs.ContainerInsights.ENHANCED,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task');
  taskDefinition.addContainer('worker', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker' }),
    environment: { CELERY_TASK_SERIALIZER: 'json' },
  });
  const ownGroup = new ec2.SecurityGroup(stack, 'WorkerGroup', { vpc: redis.vpc, allowAllOutbound: false });
  const service = new ecs.FargateService(stack, 'Worker', {
    cluster,
    taskDefinition,
    securityGroups: [ownGroup],
    vpcSubnets: redis.subnets,
    minHealthyPercent: 100,
  });
  Validations.of(taskDefinition).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason: 'Test consumer: non-secret settings only.',
  });
  Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'Test consumer: ecr:GetAuthorizationToken has no resource-level permissions.',
  });
  return service;
}

describe('grantConnect: a consumer service in another stack', () => {
  let synthesized: SynthesizedApp;
  let consumer: Template;
  let redisTemplate: Template;
  let stage: RedisStage;
  beforeAll(() => {
    synthesized = synthesize({
      stages: [devConfig],
      beforeSynth: (app) => {
        const dev = app.node.findChild('Dev') as RedisStage;
        dev.redisStack.redis.grantConnect(addConsumer(dev, 'EmailService'));
      },
    });
    stage = synthesized.stage('Dev');
    consumer = Template.fromStack(stage.node.findChild('EmailService') as Stack);
    redisTemplate = synthesized.template('Dev');
  });
  afterAll(() => synthesized?.cleanup());

  it('makes the service a member of the client security group, besides its own', () => {
    consumer.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          SecurityGroups: [
            { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerGroup'), 'GroupId'] },
            fromRedisStack('SecurityGroupsClient'),
          ],
        },
      },
    });
  });

  it('gives the container REDIS_PASSWORD as a secret and REDIS_HOST/REDIS_PORT as settings', () => {
    consumer.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Secrets: [{ Name: 'REDIS_PASSWORD', ValueFrom: fromRedisStack('SecretsRedisPassword') }],
          Environment: Match.arrayWith([
            { Name: 'REDIS_HOST', Value: 'redis.dev.emailclient.internal' },
            // The stage serves TLS only: the consumer's port is 6380.
            { Name: 'REDIS_PORT', Value: '6380' },
          ]),
        }),
      ],
    });
  });

  it("lets the consumer's execution role read that one secret (and not the backup/monitor ones)", () => {
    consumer.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: fromRedisStack('SecretsRedisPassword'),
          },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: fromRedisStack('Key'),
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          },
        ]),
      },
    });
    expect(JSON.stringify(consumer.toJSON())).not.toMatch(/SecretsBackupPassword|SecretsMonitorPassword/);
    // ...and the Redis stack does not name the consumer (no dependency cycle, no key policy change).
    expect(JSON.stringify(redisTemplate.toJSON())).not.toMatch(/EmailService|Worker/);
  });

  it("does not touch Redis's ingress: still only the client and functions groups", () => {
    const ingress = redisTemplate.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: {
        GroupId: { 'Fn::GetAtt': [logicalId(stage.redisStack.redis.redisSecurityGroup), 'GroupId'] },
      },
    });
    expect(
      Object.values(ingress)
        .map((rule) => rule.Properties.SourceSecurityGroupId['Fn::GetAtt'][0])
        .sort(),
    ).toEqual(
      [
        logicalId(stage.redisStack.redis.clientSecurityGroup),
        logicalId(stage.redisStack.redis.functionsSecurityGroup),
      ].sort(),
    );
  });

  it('rejects a service whose task definition has no such container', () => {
    const app = synthesized.app;
    const dev = app.node.findChild('Dev') as RedisStage;
    const service = dev.node.findChild('EmailService').node.findChild('Worker') as ecs.FargateService;
    expect(() => dev.redisStack.redis.grantConnect(service, { containerName: 'web' })).toThrow(
      /Dev\/EmailService\/Worker has no container web/,
    );
  });
});

describe('grantRedisConnect from the outputs (a consumer in another CDK app)', () => {
  it('works with imported security group and secret', () => {
    let template: Template | undefined;
    const synthesized = synthesize({
      stages: [devConfig],
      beforeSynth: (app) => {
        const dev = app.node.findChild('Dev') as RedisStage;
        const service = addConsumer(dev, 'Elsewhere');
        const stack = Stack.of(service);
        grantRedisConnect(
          {
            hostName: 'redis.dev.emailclient.internal',
            port: 6379,
            user: 'default',
            clientSecurityGroup: ec2.SecurityGroup.fromSecurityGroupId(
              stack,
              'RedisClients',
              'sg-0123456789abcdef0',
            ),
            passwordSecret: secretsmanager.Secret.fromSecretCompleteArn(
              stack,
              'RedisPassword',
              'arn:aws:secretsmanager:eu-west-1:123456789012:secret:RedisPassword-AbCdEf',
            ),
          },
          service,
        );
      },
    });
    try {
      template = Template.fromStack(synthesized.stage('Dev').node.findChild('Elsewhere') as Stack);
      template.hasResourceProperties('AWS::ECS::Service', {
        NetworkConfiguration: {
          AwsvpcConfiguration: { SecurityGroups: [Match.anyValue(), 'sg-0123456789abcdef0'] },
        },
      });
    } finally {
      synthesized.cleanup();
    }
  });
});

describe('configured client groups and CIDRs', () => {
  const config: StageConfig = {
    ...devConfig,
    clientSecurityGroupIds: ['sg-0123456789abcdef0'],
    clientCidrs: ['10.50.0.0/16', '2001:db8:1234::/48'],
  };
  let synthesized: SynthesizedApp;
  beforeAll(() => {
    synthesized = synthesize({ stages: [config] });
  });
  afterAll(() => synthesized?.cleanup());

  it('warns about a public IPv4 client CIDR, and only about that one', () => {
    const publicConfig = {
      ...config,
      clientCidrs: ['10.50.0.0/16', '100.64.0.0/16', '203.0.113.0/24', '2600:1f18::/56'],
    };
    const withPublic = synthesize({ stages: [publicConfig] });
    try {
      const warnings = withPublic
        .warnings('Dev')
        .filter((warning) => warning.includes(PUBLIC_CLIENT_CIDR_WARNING_ID));
      expect(warnings).toEqual([
        expect.stringMatching(/clientCidrs 203\.0\.113\.0\/24 is public IPv4 address space/),
      ]);
    } finally {
      withPublic.cleanup();
    }
    expect(synthesized.warnings('Dev').join('\n')).not.toContain(PUBLIC_CLIENT_CIDR_WARNING_ID);
  });

  it('admits each of them on 6380 (TLS) only, and nothing else beyond the client and functions groups', () => {
    const redis = synthesized.stage('Dev').redisStack.redis;
    const template = synthesized.template('Dev');
    const group = template.toJSON().Resources[logicalId(redis.redisSecurityGroup)];
    expect(group.Properties.SecurityGroupIngress).toEqual([
      {
        CidrIp: '10.50.0.0/16',
        Description: 'Redis TLS (6380) from configured client CIDR 10.50.0.0/16',
        FromPort: 6380,
        IpProtocol: 'tcp',
        ToPort: 6380,
      },
      {
        CidrIpv6: '2001:db8:1234::/48',
        Description: 'Redis TLS (6380) from configured client CIDR 2001:db8:1234::/48',
        FromPort: 6380,
        IpProtocol: 'tcp',
        ToPort: 6380,
      },
    ]);
    const standalone = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [logicalId(redis.redisSecurityGroup), 'GroupId'] } },
    });
    expect(
      Object.values(standalone)
        .map((rule) => {
          const source = rule.Properties.SourceSecurityGroupId;
          return typeof source === 'string' ? source : source['Fn::GetAtt'][0];
        })
        .sort(),
    ).toEqual(
      [
        logicalId(redis.clientSecurityGroup),
        logicalId(redis.functionsSecurityGroup),
        'sg-0123456789abcdef0',
      ].sort(),
    );
    for (const rule of Object.values(standalone)) {
      expect([rule.Properties.FromPort, rule.Properties.ToPort, rule.Properties.IpProtocol]).toEqual([
        6380,
        6380,
        'tcp',
      ]);
    }
  });
});

describe('eviction policy warnings', () => {
  let synthesized: SynthesizedApp;
  beforeAll(() => {
    synthesized = synthesize({
      stages: [
        { ...devConfig, maxmemoryPolicy: 'noeviction' },
        {
          ...devConfig,
          stageName: 'Volatile',
          envName: 'volatile',
          dnsNamespace: 'volatile.emailclient.internal',
          maxmemoryPolicy: 'volatile-lru',
        },
      ],
    });
  });
  afterAll(() => synthesized?.cleanup());

  it('emits no warning with noeviction', () => {
    expect(evictionWarnings(synthesized, 'Dev')).toEqual([]);
    expect(synthesized.printed).not.toMatch(/redis \(dev\)/i);
  });

  it('warns that volatile-* evicts Celery results with a TTL, printed by synth', () => {
    expect(evictionWarnings(synthesized, 'Volatile')).toEqual([
      expect.stringMatching(
        /^\/Volatile\/Redis\/Redis: .*volatile-lru.*Celery task results.*Decide for this stage: keep volatile-lru and size maxmemory so that it never evicts.*or set maxmemoryPolicy: 'noeviction' in lib\/config\/volatile\.ts/,
      ),
    ]);
    expect(synthesized.printed).toMatch(/WARNING Redis \(volatile\) uses maxmemory-policy volatile-lru/);
  });
});

describe('an imported VPC', () => {
  const vpcId = 'vpc-0123456789abcdef0';
  const subnet = (id: string, az: string, cidr: string) => ({
    subnetId: id,
    cidr,
    availabilityZone: az,
    routeTableId: `rtb-${id.slice(7)}`,
  });
  const lookup = {
    [`vpc-provider:account=123456789012:filter.vpc-id=${vpcId}:region=eu-west-1:returnAsymmetricSubnets=true`]:
      {
        vpcId,
        vpcCidrBlock: '10.60.0.0/16',
        ownerAccountId: '123456789012',
        availabilityZones: [],
        subnetGroups: [
          {
            name: 'Private',
            type: 'Private',
            subnets: [
              subnet('subnet-0aaaaaaaaaaaaaaa1', 'eu-west-1a', '10.60.1.0/24'),
              subnet('subnet-0aaaaaaaaaaaaaaa2', 'eu-west-1b', '10.60.2.0/24'),
            ],
          },
          {
            name: 'Public',
            type: 'Public',
            subnets: [
              subnet('subnet-0bbbbbbbbbbbbbbb1', 'eu-west-1a', '10.60.101.0/24'),
              subnet('subnet-0bbbbbbbbbbbbbbb2', 'eu-west-1b', '10.60.102.0/24'),
            ],
          },
        ],
      },
  };
  let synthesized: SynthesizedApp;
  let template: Template;
  beforeAll(() => {
    synthesized = synthesize({
      stages: [
        {
          ...devConfig,
          account: '123456789012',
          region: 'eu-west-1',
          vpc: { kind: 'imported', vpcId, createEndpoints: false },
        },
      ],
      context: lookup,
    });
    template = synthesized.template('Dev');
  });
  afterAll(() => synthesized?.cleanup());

  it('creates no VPC, flow log or endpoints, and uses its private subnets', () => {
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::FlowLog', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
          AssignPublicIp: 'DISABLED',
        },
      },
    });
    template.hasResourceProperties('AWS::EFS::MountTarget', { SubnetId: 'subnet-0aaaaaaaaaaaaaaa1' });
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Vpc: vpcId });
  });

  it("with createEndpoints, leaves its S3 endpoint's policy open: other applications share those subnets", () => {
    const withEndpoints = synthesize({
      stages: [
        {
          ...devConfig,
          account: '123456789012',
          region: 'eu-west-1',
          vpc: { kind: 'imported', vpcId, createEndpoints: true },
        },
      ],
      context: lookup,
    });
    try {
      const endpoints = Object.values(withEndpoints.template('Dev').findResources('AWS::EC2::VPCEndpoint'));
      const gateway = endpoints.filter((endpoint) => endpoint.Properties.VpcEndpointType === 'Gateway');
      expect(gateway).toHaveLength(1);
      expect(gateway[0]?.Properties.PolicyDocument).toBeUndefined();
      // The interface endpoints are still this account's only.
      const interfaces = endpoints.filter((endpoint) => endpoint.Properties.VpcEndpointType === 'Interface');
      expect(interfaces.length).toBe(6);
      for (const endpoint of interfaces) {
        expect(JSON.stringify(endpoint.Properties.PolicyDocument)).toContain('aws:PrincipalAccount');
      }
    } finally {
      withEndpoints.cleanup();
    }
  });

  it('is cdk-nag clean too', () => {
    const report = synthesized.validationReport();
    expect(
      report.pluginReports
        .filter((plugin) => plugin.pluginName === 'AwsSolutions')
        .flatMap((p) => p.violations),
    ).toEqual([]);
  });
});
