import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { devConfig, prodConfig, type StageConfig, stagingConfig } from '../../../lib/config';
import { AMAZON_ROOT_CAS_PEM } from '../../../lib/constructs/elasticache/amazon-root-cas';
import type { ElastiCachePasswordRotation } from '../../../lib/constructs/elasticache/elasticache-password-rotation';
import { RedisSecrets } from '../../../lib/constructs/redis-secrets';
import type { ElastiCacheRedisStack } from '../../../lib/stacks/elasticache-redis-stack';
import { findings, logicalId, type SynthesizedApp, synthesize } from '../synth';

// The password rotation of an ElastiCache stage (ElastiCachePasswordRotation) in the synthesized
// templates: Staging on ElastiCache (rotates every 30 days), Dev on ElastiCache (does not rotate),
// Prod on Fargate (its own rotation, unchanged).

type Json = Record<string, unknown>;
interface Resource {
  readonly Type: string;
  readonly Properties: Json;
  readonly DependsOn?: string[];
}

const ELASTICACHE_STAGING: StageConfig = {
  ...stagingConfig,
  engine: { kind: 'elasticache', nodeType: 'cache.t4g.small', replicas: 1 },
};
const ELASTICACHE_DEV: StageConfig = {
  ...devConfig,
  engine: { kind: 'elasticache', nodeType: 'cache.t4g.micro', replicas: 0 },
};

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize({ stages: [ELASTICACHE_STAGING, ELASTICACHE_DEV, prodConfig] });
});
afterAll(() => synthesized?.cleanup());

function elastiCacheStack(stageName: string): ElastiCacheRedisStack {
  return synthesized.stage(stageName).elastiCacheStack;
}

function secretsOf(stack: ElastiCacheRedisStack): RedisSecrets {
  const secrets = stack.node.findChild('Secrets');
  if (!(secrets instanceof RedisSecrets)) throw new Error('no RedisSecrets');
  return secrets;
}

function rotationOf(stack: ElastiCacheRedisStack): ElastiCachePasswordRotation {
  if (!stack.passwordRotation) throw new Error(`${stack.node.path} does not rotate its passwords`);
  return stack.passwordRotation;
}

function resources(template: Template): Record<string, Resource> {
  return template.toJSON().Resources as Record<string, Resource>;
}

function resourceOf(template: Template, id: string): Resource {
  return resources(template)[id] ?? fail(`no resource ${id}`);
}

function ofType(template: Template, type: string): [string, Resource][] {
  return Object.entries(resources(template)).filter(([, resource]) => resource.Type === type);
}

function idOf(element: CfnElement): string {
  const stack = Stack.of(element);
  return stack.resolve(stack.getLogicalId(element));
}

/** The statements of every IAM policy attached to a role. */
function statementsOfRole(template: Template, roleId: string): Json[] {
  return ofType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement);
}

/** A template value with its Refs and GetAtts written as `<LogicalId>` and Fn::Joins joined. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Json;
  if (node['Fn::Join']) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  if (node.Ref) return `<${String(node.Ref)}>`;
  if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

/** ElastiCache API endpoints of a template. */
function elastiCacheEndpoints(template: Template): [string, Resource][] {
  return ofType(template, 'AWS::EC2::VPCEndpoint').filter(([, endpoint]) =>
    flatten(endpoint.Properties.ServiceName).endsWith('.elasticache'),
  );
}

describe('ElastiCache stage with passwordRotationDays (Staging on ElastiCache)', () => {
  let stack: ElastiCacheRedisStack;
  let template: Template;
  let rotation: ElastiCachePasswordRotation;
  beforeAll(() => {
    stack = elastiCacheStack('Staging');
    template = synthesized.template('Staging');
    rotation = rotationOf(stack);
  });

  it('the function: the ElastiCache strategy, the primary endpoint on 6380 with the Amazon root CAs, each secret with its user', () => {
    const fn = resourceOf(template, logicalId(rotation.rotationFunction.function));
    expect(fn.Properties.Timeout).toBe(300);
    const variables = (fn.Properties.Environment as { Variables: Json }).Variables;
    const appSecret = logicalId(stack.passwordSecret);
    const monitorSecretId = logicalId(secretsOf(stack).monitorPassword);
    const groupId = idOf(stack.elastiCache.replicationGroup);
    expect(Object.keys(variables).sort()).toEqual([
      'ELASTICACHE_USER_IDS',
      'NODE_OPTIONS',
      'PASSWORD_STORE',
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_TLS_CA',
      'STAGE',
    ]);
    expect(variables).toMatchObject({
      STAGE: 'staging',
      PASSWORD_STORE: 'elasticache',
      REDIS_HOST: { 'Fn::GetAtt': [groupId, 'PrimaryEndPoint.Address'] },
      REDIS_PORT: '6380',
      REDIS_TLS_CA: AMAZON_ROOT_CAS_PEM,
    });
    expect(JSON.parse(flatten(variables.ELASTICACHE_USER_IDS))).toEqual({
      [`<${appSecret}>`]: 'emailclient-staging-app',
      [`<${monitorSecretId}>`]: 'emailclient-staging-monitor',
    });
    // Lambda's 4 KB limit on the environment, with deploy-time values as long as real ones.
    const deployed = JSON.stringify(variables)
      .replace(/\{"Ref":"[^"]+"\}/g, `"${'a'.repeat(110)}"`)
      .replace(/\{"Fn::GetAtt":\[[^\]]+\]\}/g, `"${'h'.repeat(90)}"`);
    const size = Object.entries(JSON.parse(deployed) as Record<string, unknown>).reduce(
      (total, [name, value]) =>
        total + name.length + (typeof value === 'string' ? value : flatten(value)).length,
      0,
    );
    expect(size).toBeLessThan(4096);
    // In the VPC, in the functions' security group.
    expect(fn.Properties.VpcConfig).toMatchObject({
      SecurityGroupIds: [
        { 'Fn::GetAtt': [logicalId(stack.securityGroups.functionsSecurityGroup), 'GroupId'] },
      ],
    });
  });

  it('IAM: DescribeUsers and ModifyUser on exactly the two users; Secrets Manager writes on exactly the two rotated secrets', () => {
    const statements = statementsOfRole(template, logicalId(rotation.rotationFunction.role));
    const elastiCache = statements.filter((statement) =>
      JSON.stringify(statement.Action).includes('elasticache:'),
    );
    expect(elastiCache).toEqual([
      {
        Sid: 'ModifyTheRotatedUsers',
        Effect: 'Allow',
        Action: ['elasticache:DescribeUsers', 'elasticache:ModifyUser'],
        Resource: ['app', 'monitor'].map((user) => ({
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':elasticache:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              `:user:emailclient-staging-${user}`,
            ],
          ],
        })),
      },
    ]);
    // The users' ids are the CfnUsers' own.
    const userIds = ofType(template, 'AWS::ElastiCache::User').map(([, user]) => user.Properties.UserId);
    expect(userIds).toEqual(
      expect.arrayContaining(['emailclient-staging-app', 'emailclient-staging-monitor']),
    );

    const writes = statements.filter((statement) =>
      JSON.stringify(statement.Action).match(/secretsmanager:(PutSecretValue|UpdateSecretVersionStage)/),
    );
    const written = writes.flatMap((statement) => [statement.Resource].flat()).map(flatten);
    const rotatedIds = rotation.rotated.map(({ secret }) => `<${logicalId(secret)}>`);
    expect([...new Set(written)].sort()).toEqual([...rotatedIds].sort());
    expect(written).not.toContain(`<${logicalId(secretsOf(stack).backupPassword)}>`);
  });

  it('rotation schedules on the app and monitor secrets (not the backup one): every 30 days, not at deploy, after the group and the endpoint', () => {
    const schedules = ofType(template, 'AWS::SecretsManager::RotationSchedule');
    const appSecret = logicalId(stack.passwordSecret);
    const rotated = rotation.rotated.map(({ secret }) => logicalId(secret));
    expect(rotated).toContain(appSecret);
    expect(
      schedules.map(([, schedule]) => (schedule.Properties.SecretId as { Ref: string }).Ref).sort(),
    ).toEqual([...rotated].sort());
    const endpoint = rotation.elastiCacheEndpoint ?? fail('no ElastiCache endpoint');
    for (const [, schedule] of schedules) {
      expect(schedule.Properties).toMatchObject({
        RotationLambdaARN: { 'Fn::GetAtt': [logicalId(rotation.rotationFunction.function), 'Arn'] },
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
      expect(schedule.DependsOn).toEqual(
        expect.arrayContaining([idOf(stack.elastiCache.replicationGroup), logicalId(endpoint)]),
      );
    }
  });

  it('an interface endpoint of the ElastiCache API, like the other endpoints (their security group, this account only)', () => {
    const endpoints = elastiCacheEndpoints(template);
    expect(endpoints).toHaveLength(1);
    const [id, endpoint] = endpoints[0] ?? fail('no endpoint');
    expect(id).toBe(logicalId(rotation.elastiCacheEndpoint ?? fail('no endpoint')));
    const secretsManager = ofType(template, 'AWS::EC2::VPCEndpoint').find(([, other]) =>
      flatten(other.Properties.ServiceName).endsWith('.secretsmanager'),
    );
    const { ServiceName: _a, ...properties } = endpoint.Properties;
    const { ServiceName: _b, ...secretsManagerProperties } = secretsManager?.[1].Properties ?? {};
    expect(properties).toEqual(secretsManagerProperties);
    expect(properties).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
  });

  it('outputs the function name', () => {
    template.hasOutput('RotationFunctionName', {
      Value: { Ref: logicalId(rotation.rotationFunction.function) },
    });
  });

  it('cdk-nag: no finding on the rotation or the secrets; the acknowledgements are the function role wildcards and the unrotated backup password', () => {
    const ours = findings(synthesized.validationReport(), 'AwsSolutions').filter((line) =>
      /@ Staging\/Redis\/(PasswordRotation|Secrets|Network\/Vpc\/ElastiCacheEndpoint)\//.test(line),
    );
    expect(ours).toEqual([]);
    const acknowledged = [rotation, stack.node.findChild('Secrets')]
      .flatMap((root) => root.node.findAll())
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
          .filter((ruleId) => ruleId.startsWith('Annotation::AwsSolutions-'))
          .map((ruleId) => `${construct.node.path} ${ruleId.replace('Annotation::', '')}`),
      )
      .sort();
    expect(acknowledged).toEqual([
      'Staging/Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::*]',
      'Staging/Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::*]',
      `Staging/Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::<${logicalId(rotation.rotationFunction.logGroup)}.Arn>]`,
      'Staging/Redis/Secrets/BackupPassword AwsSolutions-SMG4',
    ]);
  });
});

describe('stages without it', () => {
  it('an ElastiCache stage that does not rotate (Dev): no rotation function, schedule or ElastiCache endpoint', () => {
    const stack = elastiCacheStack('Dev');
    const template = synthesized.template('Dev');
    expect(stack.passwordRotation).toBeUndefined();
    expect(ofType(template, 'AWS::SecretsManager::RotationSchedule')).toEqual([]);
    expect(elastiCacheEndpoints(template)).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('RotationFunctionName');
  });

  it('a Fargate stage (Prod): no ElastiCache endpoint, and its rotation function as before (the Redis ACL strategy)', () => {
    const stack = synthesized.stage('Prod').redisStack;
    const template = synthesized.template('Prod');
    expect(elastiCacheEndpoints(template)).toEqual([]);
    const fn = stack.passwordRotation?.rotationFunction.function ?? fail('Prod does not rotate');
    const variables = (resourceOf(template, logicalId(fn)).Properties.Environment as { Variables: Json })
      .Variables;
    expect(Object.keys(variables).sort()).toEqual([
      'NODE_OPTIONS',
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_TLS_CA',
      'ROTATOR_SECRET_ARN',
      'SECRET_USERS',
      'STAGE',
    ]);
    const statements = statementsOfRole(
      template,
      logicalId(stack.passwordRotation?.rotationFunction.role ?? fn),
    );
    expect(JSON.stringify(statements)).not.toContain('elasticache:');
    expect(ofType(template, 'AWS::SecretsManager::RotationSchedule')).toHaveLength(3);
  });
});

function fail(message: string): never {
  throw new Error(message);
}
