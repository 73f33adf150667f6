// biome-ignore-all lint/suspicious/noExplicitAny: these tests walk synthesized CloudFormation JSON, whose shape is the assertion itself.
import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  devConfig,
  type ElastiCacheEngineConfig,
  prodConfig,
  type StageConfig,
  stagingConfig,
} from '../../../lib/config';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  MONITOR_ACCESS_STRING,
} from '../../../lib/constructs/elasticache/access-strings';
import { AMAZON_ROOT_CAS_PEM } from '../../../lib/constructs/elasticache/amazon-root-cas';
import {
  CONNECTION_PARAMETER,
  OPTIONAL_CONNECTION_PARAMETER,
} from '../../../lib/constructs/redis-connection-contract';
import type { RedisStage } from '../../../lib/stages/redis-stage';
import { findings, type SynthesizedApp, synthesize } from '../synth';

/**
 * A stage switched to ElastiCache: Prod with Valkey on two cache.t4g.small nodes, seeded; Staging
 * with Redis OSS 7.1 and no replica is not allowed (retained? no: staging keeps no data), so it
 * shows the single-node form. Dev stays on Fargate with its seed bucket (step 1 of a switch).
 */
const SEED = 'seeds/prod/20261130T020000Z.rdb';
const PROD_ENGINE: ElastiCacheEngineConfig = {
  kind: 'elasticache',
  nodeType: 'cache.t4g.small',
  replicas: 1,
  seed: SEED,
};
const prodOnElastiCache: StageConfig = { ...prodConfig, engine: PROD_ENGINE };
const stagingOnRedisOss: StageConfig = {
  ...stagingConfig,
  engine: {
    kind: 'elasticache',
    nodeType: 'cache.m7g.large',
    replicas: 0,
    engine: 'redis',
    engineVersion: '7.1',
  },
};
const devWithSeedBucket: StageConfig = { ...devConfig, engine: { kind: 'fargate', seedBucket: true } };

let synthesized: SynthesizedApp;
let prod: Template;
let staging: Template;
let dev: Template;
let consumer: Template;
beforeAll(() => {
  synthesized = synthesize({
    stages: [devWithSeedBucket, stagingOnRedisOss, prodOnElastiCache],
    beforeSynth: (app) => {
      // A consumer of the ElastiCache stage in a stack of its own, connected with grantConnect.
      const stage = app.node.findChild('Prod') as RedisStage;
      const redis = stage.elastiCacheStack;
      const stack = new Stack(stage, 'Elsewhere');
      const cluster = new ecs.Cluster(stack, 'Cluster', {
        vpc: redis.vpc,
        containerInsightsV2: ecs.ContainerInsights.ENHANCED,
      });
      const task = new ecs.FargateTaskDefinition(stack, 'Task');
      task.addContainer('worker', {
        image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
        logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker' }),
      });
      const service = new ecs.FargateService(stack, 'Worker', {
        cluster,
        taskDefinition: task,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        minHealthyPercent: 100,
      });
      redis.grantConnect(service);
      Validations.of(task).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason: 'Test consumer: non-secret settings only.',
      });
      Validations.of(task.obtainExecutionRole()).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Test consumer: ecr:GetAuthorizationToken has no resource-level permissions.',
      });
    },
  });
  consumer = Template.fromStack(synthesized.stage('Prod').node.findChild('Elsewhere') as Stack);
  prod = synthesized.template('Prod');
  staging = synthesized.template('Staging');
  dev = synthesized.template('Dev');
});
afterAll(() => synthesized?.cleanup());

/** The one resource of a type in a template, with its logical id. */
function only(template: Template, type: string): { id: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  const [[id, resource]] = found as [[string, Record<string, any>]];
  return { id, resource };
}

function resourceTypes(template: Template): Set<string> {
  return new Set(
    Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type),
  );
}

describe('an ElastiCache stage has no Fargate part', () => {
  it('has no ECS service of its own, no file system, no Cloud Map, no restore state machine', () => {
    const types = resourceTypes(prod);
    for (const type of [
      'AWS::EFS::FileSystem',
      'AWS::EFS::MountTarget',
      'AWS::ServiceDiscovery::PrivateDnsNamespace',
      'AWS::StepFunctions::StateMachine',
    ]) {
      expect(types).not.toContain(type);
    }
    expect([...types].filter((type) => type.startsWith('AWS::ECS::'))).toEqual([]);
    for (const type of [
      'AWS::EFS::FileSystem',
      'AWS::ServiceDiscovery::PrivateDnsNamespace',
      'AWS::StepFunctions::StateMachine',
    ]) {
      expect(resourceTypes(staging)).not.toContain(type);
    }
  });

  it('has no SYNC backup function, no backup schedule and no task-stopped rule', () => {
    const functions = Object.values(prod.findResources('AWS::Lambda::Function')) as Array<{
      Properties: any;
    }>;
    const descriptions = functions.map((f) => String(f.Properties.Description ?? ''));
    expect(descriptions.some((d) => /streams a verified RDB snapshot/.test(d))).toBe(false);
    expect(descriptions.some((d) => /restore/i.test(d))).toBe(false);
    const rules = Object.values(prod.findResources('AWS::Events::Rule')) as Array<{ Properties: any }>;
    expect(rules.some((rule) => JSON.stringify(rule.Properties).includes('aws.ecs'))).toBe(false);
    expect(rules.some((rule) => /backup schedule/.test(String(rule.Properties.Description)))).toBe(false);
  });
});

describe('the replication group', () => {
  it('is Valkey 8.1, one primary and one replica, Multi-AZ with automatic failover, cluster mode off', () => {
    prod.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      EngineVersion: '8.1',
      CacheNodeType: 'cache.t4g.small',
      NumCacheClusters: 2,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      NumNodeGroups: Match.absent(),
      AutoMinorVersionUpgrade: true,
    });
  });

  it('serves TLS only on 6380, encrypts at rest with the stage key, authenticates with its user group', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::ReplicationGroup');
    const key = only(prod, 'AWS::KMS::Key').id;
    expect(resource.Properties).toMatchObject({
      Port: 6380,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      KmsKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
      UserGroupIds: [{ Ref: only(prod, 'AWS::ElastiCache::UserGroup').id }],
    });
    expect(resource.Properties.AuthToken).toBeUndefined();
  });

  it('sits in the private subnets, in the Redis security group, with the parameter group', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::ReplicationGroup');
    const redisGroup = Object.keys(prod.findResources('AWS::EC2::SecurityGroup')).find((id) =>
      id.startsWith('SecurityGroupsRedis'),
    );
    expect(resource.Properties.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [redisGroup, 'GroupId'] }]);
    expect(resource.Properties.CacheSubnetGroupName).toEqual({
      Ref: only(prod, 'AWS::ElastiCache::SubnetGroup').id,
    });
    expect(resource.Properties.CacheParameterGroupName).toEqual({
      Ref: only(prod, 'AWS::ElastiCache::ParameterGroup').id,
    });
    const subnets = only(prod, 'AWS::ElastiCache::SubnetGroup').resource.Properties.SubnetIds;
    const isolated = Object.entries(prod.findResources('AWS::EC2::Subnet'))
      .filter(([, subnet]) =>
        (subnet as any).Properties.Tags.some(
          (tag: any) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Isolated',
        ),
      )
      .map(([id]) => ({ Ref: id }));
    expect(subnets).toHaveLength(2);
    expect(subnets).toEqual(isolated);
  });

  it('carries the maxmemory policy and the spec sample count in a valkey8 parameter group', () => {
    prod.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'valkey8',
      Properties: { 'maxmemory-policy': 'allkeys-lru', 'maxmemory-samples': '5', 'cluster-enabled': 'no' },
    });
  });

  it('takes daily snapshots kept 7 days, in windows that do not overlap', () => {
    prod.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      SnapshotRetentionLimit: 7,
      SnapshotWindow: '02:00-03:00',
      PreferredMaintenanceWindow: 'sun:04:00-sun:05:00',
    });
  });

  it('sends engine and slow logs to KMS-encrypted, unnamed log groups, and its notifications to a topic of their own', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::ReplicationGroup');
    const delivered = resource.Properties.LogDeliveryConfigurations;
    expect(delivered.map((c: any) => [c.LogType, c.DestinationType, c.LogFormat])).toEqual([
      ['engine-log', 'cloudwatch-logs', 'json'],
      ['slow-log', 'cloudwatch-logs', 'json'],
    ]);
    for (const configuration of delivered) {
      const groupId = configuration.DestinationDetails.CloudWatchLogsDetails.LogGroup.Ref;
      const group = prod.toJSON().Resources[groupId];
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.Properties.KmsKeyId).toBeDefined();
      // No fixed name: a kept group must never block the next switch ("already exists").
      expect(group.Properties.LogGroupName).toBeUndefined();
      expect(group.DeletionPolicy).toBe('Retain');
    }
    // ElastiCache cannot publish to a KMS-encrypted topic: its notifications have their own, TLS only.
    const topics = prod.findResources('AWS::SNS::Topic');
    const events = Object.entries(topics).find(([id]) => id.startsWith('ElastiCacheEventsTopic'));
    expect(events).toBeDefined();
    expect(resource.Properties.NotificationTopicArn).toEqual({ Ref: events?.[0] });
    const eventsPolicy = JSON.stringify(prod.findResources('AWS::SNS::TopicPolicy'));
    expect(eventsPolicy).toContain(events?.[0]);
    expect(eventsPolicy).toContain('"aws:SecureTransport":"false"');
    const alarmTopic = Object.entries(topics).find(([id]) =>
      id.startsWith('MonitoringAlarmTopic'),
    )?.[1] as any;
    expect(alarmTopic.Properties.KmsMasterKeyId).toBeDefined();
  });

  it('in a retained stage, takes a final snapshot when deleted or replaced; elsewhere is deleted', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::ReplicationGroup');
    expect([resource.DeletionPolicy, resource.UpdateReplacePolicy]).toEqual(['Snapshot', 'Snapshot']);
    const single = only(staging, 'AWS::ElastiCache::ReplicationGroup').resource;
    expect([single.DeletionPolicy, single.UpdateReplacePolicy]).toEqual(['Delete', 'Delete']);
  });

  it('without a replica: one node, no Multi-AZ, no failover; Redis OSS 7.1 with a redis7 group', () => {
    staging.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      EngineVersion: '7.1',
      NumCacheClusters: 1,
      AutomaticFailoverEnabled: false,
      MultiAZEnabled: false,
      SnapshotArns: Match.absent(),
    });
    staging.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'redis7',
    });
    for (const user of Object.values(staging.findResources('AWS::ElastiCache::User')) as any[]) {
      expect(user.Properties.Engine).toBe('redis');
    }
  });
});

describe('RBAC users', () => {
  const users = () =>
    Object.fromEntries(
      (Object.values(prod.findResources('AWS::ElastiCache::User')) as any[]).map((user) => [
        user.Properties.UserName,
        user.Properties,
      ]),
    );

  it('default can do nothing; app and monitor have the access strings the tests check on a real Redis', () => {
    const byName = users();
    expect(Object.keys(byName).sort()).toEqual(['app', 'default', 'monitor']);
    expect(byName.default.AccessString).toBe(DISABLED_DEFAULT_ACCESS_STRING);
    expect(byName.app.AccessString).toBe(APPLICATION_ACCESS_STRING);
    expect(byName.monitor.AccessString).toBe(MONITOR_ACCESS_STRING);
    for (const user of Object.values(byName) as any[]) expect(user.Engine).toBe('valkey');
  });

  it("take their passwords from the stage's secrets by dynamic reference, never as values", () => {
    const byName = users();
    const secretId = (prefix: string) =>
      Object.keys(prod.findResources('AWS::SecretsManager::Secret')).find((id) => id.startsWith(prefix));
    const resolves = (password: unknown, secret: string | undefined) =>
      expect(JSON.stringify(password)).toMatch(
        new RegExp(`\\{\\{resolve:secretsmanager:",\\{"Ref":"${secret}"\\},":SecretString:::\\}\\}`),
      );
    resolves(byName.app.Passwords[0], secretId('SecretsRedisPassword'));
    resolves(byName.monitor.Passwords[0], secretId('SecretsMonitorPassword'));
    resolves(byName.default.Passwords[0], secretId('ElastiCacheDisabledDefaultUserPassword'));
    // Every password is generated by Secrets Manager: none is written into the template.
    for (const secret of Object.values(prod.findResources('AWS::SecretsManager::Secret')) as any[]) {
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.GenerateSecretString).toBeDefined();
    }
  });

  it('the user group holds exactly the three, with the engine of the group', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::UserGroup');
    const userIds = Object.keys(prod.findResources('AWS::ElastiCache::User')).map((id) => ({ Ref: id }));
    expect(resource.Properties.Engine).toBe('valkey');
    expect(resource.Properties.UserIds).toEqual(expect.arrayContaining(userIds));
    expect(resource.Properties.UserIds).toHaveLength(3);
  });
});

describe('the same consumer contract', () => {
  const parameters = (template: Template) =>
    Object.fromEntries(
      (Object.values(template.findResources('AWS::SSM::Parameter')) as any[]).map((p) => [
        String(p.Properties.Name).split('/').pop(),
        p.Properties.Value,
      ]),
    );

  it('publishes the same parameter names as a Fargate stage, under the same path', () => {
    expect(Object.keys(parameters(prod)).sort()).toEqual(Object.keys(parameters(dev)).sort());
    expect(Object.keys(parameters(prod)).sort()).toEqual(
      [...Object.values(CONNECTION_PARAMETER), ...Object.values(OPTIONAL_CONNECTION_PARAMETER)].sort(),
    );
    for (const parameter of Object.values(prod.findResources('AWS::SSM::Parameter')) as any[]) {
      expect(parameter.Properties.Name).toMatch(/^\/emailclient\/redis\/prod\//);
    }
  });

  it('host is the primary endpoint, port and tls-port 6380, TLS required, user app, Amazon CA bundle', () => {
    const group = only(prod, 'AWS::ElastiCache::ReplicationGroup').id;
    const published = parameters(prod);
    expect(published.host).toEqual({ 'Fn::GetAtt': [group, 'PrimaryEndPoint.Address'] });
    expect([published.port, published['tls-port'], published.tls, published.user]).toEqual([
      '6380',
      '6380',
      'required',
      'app',
    ]);
    expect(published['ca-bundle']).toBe(AMAZON_ROOT_CAS_PEM);
    expect(published['password-secret-arn']).toEqual({ Ref: expect.stringMatching(/^SecretsRedisPassword/) });
    expect(published['contract-version']).toBe('1');
  });

  it('grantConnect hands a consumer the same variables as on Fargate, with user app', () => {
    const task = Object.values(consumer.findResources('AWS::ECS::TaskDefinition'))[0] as any;
    const environment = Object.fromEntries(
      task.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]),
    );
    expect(Object.keys(environment).sort()).toEqual([
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_TLS_CA',
      'REDIS_TLS_PORT',
      'REDIS_USER',
    ]);
    expect(environment.REDIS_USER).toBe('app');
    expect(environment.REDIS_PORT).toBe('6380');
    expect(environment.REDIS_TLS_CA).toBe(AMAZON_ROOT_CAS_PEM);
    expect(JSON.stringify(environment.REDIS_HOST)).toContain('PrimaryEndPointAddress');
    expect(task.Properties.ContainerDefinitions[0].Secrets.map((s: any) => s.Name)).toEqual([
      'REDIS_PASSWORD',
    ]);
    const service = Object.values(consumer.findResources('AWS::ECS::Service'))[0] as any;
    expect(JSON.stringify(service.Properties.NetworkConfiguration)).toContain('SecurityGroupsClient');
  });

  it('the bundle holds Amazon Root CA 1 and 3 and Starfield Services G2, and fits an SSM parameter', () => {
    expect(AMAZON_ROOT_CAS_PEM.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    expect(AMAZON_ROOT_CAS_PEM.length).toBeLessThan(4096);
    const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
    const subjects = AMAZON_ROOT_CAS_PEM.split(/(?=-----BEGIN CERTIFICATE-----)/).map(
      (pem) => new X509Certificate(pem).subject,
    );
    expect(subjects.join('\n')).toMatch(
      /CN=Amazon Root CA 1[\s\S]*CN=Amazon Root CA 3[\s\S]*Starfield Services Root Certificate Authority - G2/,
    );
  });
});

describe('security groups', () => {
  it('Redis admits 6380 only, from the client and functions groups; its nodes have no egress', () => {
    const redis = Object.entries(prod.findResources('AWS::EC2::SecurityGroup')).find(([id]) =>
      id.startsWith('SecurityGroupsRedis'),
    )?.[1] as any;
    const ingress = redis.Properties.SecurityGroupIngress ?? [];
    const standalone = Object.values(prod.findResources('AWS::EC2::SecurityGroupIngress')) as any[];
    const ports = [...ingress, ...standalone.map((rule) => rule.Properties)].map((rule) => [
      rule.FromPort,
      rule.ToPort,
    ]);
    expect(ports.length).toBeGreaterThanOrEqual(2);
    for (const port of ports) expect(port).toEqual([6380, 6380]);
    // CDK's placeholder rule (255.255.255.255/32, no port) is what "no egress" looks like.
    expect(redis.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp' }),
    ]);
    expect(JSON.stringify(prod.toJSON())).not.toContain('0.0.0.0/0"},"FromPort":6380');
  });
});

describe('what a stage keeps when it switches engine', () => {
  it('key, secrets, client and Redis groups, backup bucket, alarm topic, connection parameters and seed bucket keep their logical ids', () => {
    const ids = (template: Template) => new Set(Object.keys(template.toJSON().Resources));
    const fargate = ids(dev);
    const elastiCache = ids(prod);
    const kept = [
      'Key9BCD29C7',
      'SecretsRedisPassword3A621B46',
      'SecretsBackupPasswordE07B9A2D',
      'SecretsMonitorPasswordBC190EC9',
      'SecurityGroupsClientBC1399B6',
      'BackupBucketBC94E555',
      'BackupAccessLogs0B47D8EE',
      'MonitoringAlarmTopicAF62D4F1',
      // Named: a stage going back to Fargate must find it in the template, not left behind.
      'RestoreLogs66025D1F',
    ];
    for (const id of kept) {
      expect(fargate).toContain(id);
      expect(elastiCache).toContain(id);
    }
    const shared = (prefix: string) => [...fargate].filter((id) => id.startsWith(prefix));
    // (Security group rules embed the stage's name in their ids: the group itself is compared.)
    const redisGroup = Object.keys(dev.findResources('AWS::EC2::SecurityGroup')).filter((id) =>
      id.startsWith('SecurityGroupsRedis'),
    );
    expect(redisGroup).toHaveLength(1);
    expect(elastiCache).toContain(redisGroup[0]);
    for (const prefix of ['SeedsBucket', 'ConnectionParameters', 'MonitoringDashboard']) {
      expect(shared(prefix).length).toBeGreaterThan(0);
      for (const id of shared(prefix)) expect(elastiCache).toContain(id);
    }
  });
});

describe('the seed', () => {
  it('the group is created from the seed in the stage seed bucket', () => {
    const { resource } = only(prod, 'AWS::ElastiCache::ReplicationGroup');
    const bucket = Object.keys(prod.findResources('AWS::S3::Bucket')).find((id) =>
      id.startsWith('SeedsBucket'),
    );
    expect(resource.Properties.SnapshotArns).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: bucket }, `/${SEED}`]] },
    ]);
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^SeedsBucketPolicy/)]));
  });

  it('synth warns that changing the seed replaces the group', () => {
    const warnings = synthesized.warnings('Prod');
    expect(
      warnings.some(
        (w) => w.startsWith('/Prod/Redis/ElastiCache: engine.seed') && /REPLACES the group/.test(w),
      ),
    ).toBe(true);
    expect(synthesized.warnings('Staging').some((w) => w.includes('engine.seed'))).toBe(false);
  });

  it('the seed bucket is SSE-S3, ACL-capable, readable by ElastiCache under seeds/ only, refusing non-AES256 uploads', () => {
    for (const template of [prod, dev]) {
      const [bucket] = Object.values(
        template.findResources('AWS::S3::Bucket', { Properties: { OwnershipControls: Match.anyValue() } }),
      ).filter(
        (b: any) => b.Properties.OwnershipControls.Rules[0].ObjectOwnership === 'BucketOwnerPreferred',
      ) as any[];
      expect(
        bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: 'AES256',
      });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
      const policy = JSON.stringify(
        Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p: any) =>
          JSON.stringify(p).includes('ElastiCacheReadsSeeds'),
        ),
      );
      expect(policy).toMatch(
        /"Service":\{"Fn::Join":\["",\[\{"Ref":"AWS::Region"\},".elasticache-snapshot.amazonaws.com"\]\]\}/,
      );
      expect(policy).toMatch(/"Action":"s3:GetObject".*\/seeds\/\*/);
      expect(policy).toContain('"Action":["s3:GetBucketAcl","s3:ListBucket"]');
      expect(policy).toContain('"Sid":"ElastiCacheListsSeeds"');
      expect(policy).toContain('"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}');
    }
  });

  it('the export policy reads snapshots and writes this stage seeds, nothing else', () => {
    const policy = (Object.values(prod.findResources('AWS::IAM::ManagedPolicy')) as any[]).find((p) =>
      /ops seed-export/.test(p.Properties.Description),
    );
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements.map((s: any) => s.Sid)).toEqual([
      'FindTheStage',
      'ListSnapshots',
      'ReadSnapshots',
      'DecryptSnapshotsThroughS3',
      'WriteSeedsOfThisStage',
    ]);
    expect(JSON.stringify(statements)).toContain('/seeds/prod/*');
    expect(JSON.stringify(statements)).not.toMatch(/"s3:\*"|"kms:\*"|"Resource":"\*"/);
  });
});

describe('the other stages are unchanged', () => {
  it('a Fargate stage synthesizes the same template whether it says engine fargate or nothing', () => {
    const explicit = synthesize({ stages: [{ ...devConfig, engine: { kind: 'fargate' } }] });
    const implicit = synthesize({ stages: [devConfig] });
    try {
      expect(explicit.template('Dev').toJSON()).toEqual(implicit.template('Dev').toJSON());
      // The seed bucket (step 1 of a switch) adds its bucket, policy and export policy, and changes nothing else.
      const before = implicit.template('Dev').toJSON().Resources;
      const after = dev.toJSON().Resources;
      const added = Object.keys(after).filter((id) => !(id in before));
      expect(added.every((id) => id.startsWith('Seeds'))).toBe(true);
      expect(added.length).toBe(3);
      for (const id of Object.keys(before)) {
        if (id.startsWith('BackupAccessLogs')) continue; // its bucket policy admits the seed bucket's logs
        expect([id, after[id]]).toEqual([id, before[id]]);
      }
    } finally {
      explicit.cleanup();
      implicit.cleanup();
    }
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged finding in the ElastiCache stages or the seed bucket', () => {
    const report = findings(synthesized.validationReport(), 'AwsSolutions');
    expect(report).toEqual([]);
  });

  it('acknowledges narrowly: AEC6 on the group (RBAC, not an AUTH token), SMG4 on the unusable default password, SNS2 on the events topic', () => {
    const stage = synthesized.stage('Prod');
    const acknowledged = stage.node
      .findAll()
      .filter(
        (construct) =>
          construct.node.path.includes('/ElastiCache/') || construct.node.path.includes('/Seeds/'),
      )
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
          .map((id) => `${construct.node.path.replace('Prod/Redis/', '')} ${id.replace('Annotation::', '')}`),
      )
      .sort();
    expect(acknowledged).toEqual([
      'ElastiCache/DisabledDefaultUserPassword AwsSolutions-SMG4',
      'ElastiCache/EventsTopic AwsSolutions-SNS2',
      'ElastiCache/ReplicationGroup AwsSolutions-AEC6',
      'Seeds/ExportPolicy AwsSolutions-IAM5[Resource::<BackupBucketBC94E555.Arn>/snapshots/*]',
      'Seeds/ExportPolicy AwsSolutions-IAM5[Resource::<SeedsBucket5F497960.Arn>/seeds/prod/*]',
    ]);
  });
});
