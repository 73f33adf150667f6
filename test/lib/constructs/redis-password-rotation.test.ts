import { Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { devConfig, type StageConfig } from '../../../lib/config';
import type { RedisPasswordRotation } from '../../../lib/constructs/redis-password-rotation';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import {
  caCertificateRef,
  findings,
  logicalId,
  STAGE_CONFIG,
  type SynthesizedApp,
  synthesize,
} from '../synth';

type Json = Record<string, unknown>;
interface Resource {
  readonly Type: string;
  readonly Properties: Json;
  readonly DependsOn?: string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
type Resources = Record<string, Resource>;

/** The ENI actions every in-VPC ProjectFunction holds on "*" (no resource-level permissions). */
const ENI_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
];

/** Writing a secret's value or stages (the rotation's business, nobody else's). */
const SECRET_WRITE = /^secretsmanager:(\*|Put|Update|Rotate|Cancel|Delete|Restore|Create)/;

/** A stage of its own (names and namespace must be unique in one app). */
function customStage(stageName: string, change: Partial<StageConfig>): StageConfig {
  const envName = stageName.toLowerCase();
  return { ...devConfig, stageName, envName, dnsNamespace: `${envName}.emailclient.internal`, ...change };
}

function resourcesOf(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/** The statements of every IAM policy attached to a role. */
function statementsOfRole(template: Template, roleId: string): Json[] {
  return Object.values(resourcesOf(template))
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement);
}

/** The statements of the stage key's policy that name a principal. */
function keyStatementsFor(template: Template, stack: RedisStack, principalId: string): Json[] {
  const key = resourceOf(template, logicalId(stack.redis.kmsKey));
  return (key.Properties.KeyPolicy as { Statement: Json[] }).Statement.filter((statement) =>
    JSON.stringify(statement.Principal).includes(`"${principalId}"`),
  );
}

/** A resource of a template by logical id; throws when there is none. */
function resourceOf(template: Template, id: string): Resource {
  const resource = resourcesOf(template)[id];
  if (!resource) throw new Error(`no resource ${id}`);
  return resource;
}

/** A Lambda function's environment variables. */
function environmentOf(template: Template, fn: IConstruct): Json {
  return (resourceOf(template, logicalId(fn)).Properties.Environment as { Variables: Json }).Variables;
}

/** The stack's RedisPasswordRotation; throws for a stage that does not rotate. */
function rotationOf(stack: RedisStack): RedisPasswordRotation {
  const rotation = stack.passwordRotation;
  if (!rotation) throw new Error(`${stack.node.path} does not rotate its passwords`);
  return rotation;
}

/** The Redis container's definition. */
function redisContainer(template: Template): Json {
  const taskDefinitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  expect(taskDefinitions).toHaveLength(1);
  const [container] = (taskDefinitions[0]?.Properties.ContainerDefinitions ?? []) as Json[];
  expect(container?.Name).toBe('redis');
  return container as Json;
}

/** The cdk-nag rules acknowledged on one construct. */
function acknowledgedOn(construct: IConstruct): string[] {
  return construct.node.metadata
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
    .map((id) => id.replace('Annotation::', ''));
}

/**
 * A template value built with Fn::Join over Refs, as text, each Ref written as the logical id it
 * names (e.g. SECRET_USERS: `{"SecretsRedisPassword3A621B46":"default",...}`).
 */
function joinedText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joinedText).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  if (ref !== undefined) return ref;
  throw new Error(`not a join of strings and Refs: ${JSON.stringify(value)}`);
}

/** Every resource a resource needs first: DependsOn, Ref and GetAtt, transitively. */
function prerequisitesOf(resources: Resources, id: string): Set<string> {
  const found = new Set<string>();
  const direct = (resourceId: string): string[] => {
    const resource = resources[resourceId];
    if (!resource) return [];
    const referenced: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const object = node as Json;
        if (typeof object.Ref === 'string') referenced.push(object.Ref);
        const getAtt = object['Fn::GetAtt'] as unknown[] | undefined;
        if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') referenced.push(getAtt[0]);
        Object.values(object).forEach(walk);
      }
    };
    walk(resource.Properties);
    return [...(resource.DependsOn ?? []), ...referenced].filter((other) => other in resources);
  };
  const pending = direct(id);
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (found.has(next)) continue;
    found.add(next);
    pending.push(...direct(next));
  }
  return found;
}

let real: SynthesizedApp;
let custom: SynthesizedApp;
beforeAll(() => {
  real = synthesize();
  custom = synthesize({
    stages: [
      // Plaintext Redis (6379, no CA) rotated weekly; TLS in transition rotated yearly, data retained.
      customStage('Weekly', { tls: 'off', passwordRotationDays: 7 }),
      customStage('Yearly', {
        tls: 'transitional',
        passwordRotationDays: 365,
        retainData: true,
        alarmEmail: 'oncall@example.com',
      }),
    ],
  });
});
afterAll(() => {
  real?.cleanup();
  custom?.cleanup();
});

describe.each(['Staging', 'Prod'] as const)(
  '%s/Redis password rotation (RedisPasswordRotation)',
  (stageName) => {
    const config = STAGE_CONFIG[stageName];
    let stack: RedisStack;
    let template: Template;
    let rotation: RedisPasswordRotation;
    let resources: Resources;
    /** The three password secrets' logical ids: default, backup, monitor. */
    let passwords: { default: string; backup: string; monitor: string };
    let functionId: string;
    let seederId: string;
    beforeAll(() => {
      stack = real.stage(stageName).redisStack;
      template = real.template(stageName);
      rotation = rotationOf(stack);
      resources = resourcesOf(template);
      const { secrets } = stack.redis;
      passwords = {
        default: logicalId(secrets.password),
        backup: logicalId(secrets.backupPassword),
        monitor: logicalId(secrets.monitorPassword),
      };
      functionId = logicalId(rotation.rotationFunction.function);
      const seeders = Object.keys(template.findResources('Custom::RedisPreviousPasswords'));
      expect(seeders).toHaveLength(1);
      seederId = seeders[0] as string;
    });

    it('is configured to rotate every 30 days, as the stack construct PasswordRotation', () => {
      expect(config.passwordRotationDays).toBe(30);
      expect(rotation.node.path).toBe(`${stageName}/Redis/PasswordRotation`);
    });

    it('schedules each of the three passwords every 30 days with the rotation function, not at once on deploy', () => {
      const schedules = Object.entries(template.findResources('AWS::SecretsManager::RotationSchedule'));
      expect(
        schedules
          .map(([, schedule]) => schedule.Properties)
          .sort((a, b) => a.SecretId.Ref.localeCompare(b.SecretId.Ref)),
      ).toEqual(
        Object.values(passwords)
          .sort()
          .map((secret) => ({
            SecretId: { Ref: secret },
            RotationLambdaARN: { 'Fn::GetAtt': [functionId, 'Arn'] },
            RotationRules: { ScheduleExpression: 'rate(30 days)' },
            RotateImmediatelyOnUpdate: false,
          })),
      );
      // Created after AWSPREVIOUS exists and after Secrets Manager may invoke the function.
      const [permission] = Object.keys(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { Principal: 'secretsmanager.amazonaws.com' },
        }),
      );
      for (const [, schedule] of schedules) {
        expect(schedule.DependsOn).toEqual(expect.arrayContaining([seederId, permission]));
      }
    });

    it('lets Secrets Manager invoke the rotation function, and nothing else by resource policy', () => {
      const permissions = Object.values(resources)
        .filter((resource) => resource.Type === 'AWS::Lambda::Permission')
        .filter((resource) => JSON.stringify(resource.Properties.FunctionName).includes(`"${functionId}"`))
        .map((resource) => resource.Properties);
      expect(permissions).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
          Principal: 'secretsmanager.amazonaws.com',
        },
      ]);
    });

    it('runs the rotation function in the VPC, in the functions security group, in the subnets of Redis', () => {
      const properties = resources[functionId]?.Properties as Json;
      const [service] = Object.values(template.findResources('AWS::ECS::Service'));
      expect(properties.VpcConfig).toEqual({
        SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack.redis.functionsSecurityGroup), 'GroupId'] }],
        SubnetIds: service?.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets,
      });
      expect(properties.Timeout).toBe(60);
      expect(properties.KmsKeyArn).toEqual({ 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] });
      expect(properties.Description).toMatch(
        new RegExp(`^Redis \\(${config.envName}\\): rotates the Redis passwords`),
      );
    });

    it('tells the rotation function where Redis is (TLS, the stage CA), its own secret and which secret is whose', () => {
      const variables = environmentOf(template, rotation.rotationFunction.function);
      expect(variables).toEqual({
        STAGE: config.envName,
        REDIS_HOST: `redis.${config.dnsNamespace}`,
        REDIS_PORT: '6380',
        REDIS_TLS_CA: caCertificateRef(stack),
        ROTATOR_SECRET_ARN: { Ref: logicalId(rotation.rotatorSecret) },
        SECRET_USERS: expect.anything(),
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(JSON.parse(joinedText(variables.SECRET_USERS))).toEqual({
        [passwords.default]: 'default',
        [passwords.backup]: 'backup',
        [passwords.monitor]: 'monitor',
      });
    });

    it('gives the rotation function exactly these permissions (no wildcard action; "*" only for ENIs and GetRandomPassword)', () => {
      const fn = rotation.rotationFunction;
      const key = { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] };
      const statements = statementsOfRole(template, logicalId(fn.role));
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] },
        },
        // CDK's RotationSchedule grants GetRandomPassword too: merged with the ENI actions.
        { Effect: 'Allow', Action: [...ENI_ACTIONS, 'secretsmanager:GetRandomPassword'], Resource: '*' },
        // Its environment (the stage key encrypts it).
        { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: { Ref: logicalId(rotation.rotatorSecret) },
        },
        {
          Effect: 'Allow',
          Action: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          Resource: [{ Ref: passwords.backup }, { Ref: passwords.monitor }, { Ref: passwords.default }],
        },
      ]);
      for (const statement of statements) {
        for (const action of [statement.Action].flat() as string[]) expect(action).not.toContain('*');
        if (statement.Resource === '*') {
          expect([...ENI_ACTIONS, 'secretsmanager:GetRandomPassword']).toEqual(
            expect.arrayContaining([statement.Action].flat()),
          );
        }
        if (JSON.stringify(statement.Action).includes('GetRandomPassword'))
          expect(statement.Resource).toBe('*');
      }
      // The key's policy adds only use through Secrets Manager (CDK's grants for secret readers and rotation).
      const keyStatements = keyStatementsFor(template, stack, logicalId(fn.role));
      expect(keyStatements).toHaveLength(2);
      for (const statement of keyStatements) {
        expect(statement.Condition).toEqual({
          StringEquals: {
            'kms:ViaService': {
              'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
            },
          },
        });
      }
    });

    it('lets only the rotation function write the three passwords', () => {
      const writers = Object.entries(resources)
        .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
        .filter(([, policy]) =>
          (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement.some(
            (statement) =>
              ([statement.Action].flat() as string[]).some((action) => SECRET_WRITE.test(action)) &&
              Object.values(passwords).some((secret) =>
                JSON.stringify(statement.Resource).includes(`"${secret}"`),
              ),
          ),
        )
        .map(([id]) => id);
      expect(writers).toEqual([logicalId(rotation.rotationFunction.role.node.findChild('DefaultPolicy'))]);
    });

    it('keeps the rotator password in its own secret: stage key, 64 letters and digits, the stage removal policy', () => {
      const secret = resources[logicalId(rotation.rotatorSecret)] as Resource;
      expect(secret.Type).toBe('AWS::SecretsManager::Secret');
      expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] });
      expect(secret.Properties.GenerateSecretString).toEqual({
        PasswordLength: 64,
        ExcludePunctuation: true,
        IncludeSpace: false,
      });
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties.Description).toBe(
        `Redis (${config.envName}): password of the rotator ACL user (the password rotation function)`,
      );
      const policy = config.retainData ? 'Retain' : 'Delete';
      expect([secret.DeletionPolicy, secret.UpdateReplacePolicy]).toEqual([policy, policy]);
    });

    it("lets only the rotation function and the Redis task's execution role read the rotator secret", () => {
      const rotator = `"${logicalId(rotation.rotatorSecret)}"`;
      const readers = Object.entries(resources)
        .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
        .filter(([, policy]) => JSON.stringify(policy.Properties).includes(rotator))
        .map(([id]) => id)
        .sort();
      const executionRole = stack.redis.taskDefinition.executionRole;
      if (!executionRole) throw new Error('the task definition has no execution role');
      expect(readers).toEqual(
        [
          logicalId(rotation.rotationFunction.role.node.findChild('DefaultPolicy')),
          logicalId(executionRole.node.findChild('DefaultPolicy')),
        ].sort(),
      );
      // Not the task role: the entrypoint gets it from ECS, Redis processes never fetch it.
      expect(
        JSON.stringify(statementsOfRole(template, logicalId(stack.redis.taskDefinition.taskRole))),
      ).not.toMatch(/Secrets(Redis|Backup|Monitor)Password|RotatorPassword/);
    });

    it('seeds AWSPREVIOUS of the three secrets with a custom resource run by the rotation function', () => {
      const seeder = resources[seederId] as Resource;
      const serviceToken = seeder.Properties.ServiceToken as { 'Fn::GetAtt': [string, string] };
      expect(seeder.Properties).toEqual({
        ServiceToken: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        Secrets: {
          'Fn::Join': [
            '',
            [{ Ref: passwords.default }, ',', { Ref: passwords.backup }, ',', { Ref: passwords.monitor }],
          ],
        },
      });
      // The token is the CDK Provider framework's relay, which calls the rotation function.
      const relay = resources[serviceToken['Fn::GetAtt'][0]] as Resource;
      expect(relay.Type).toBe('AWS::Lambda::Function');
      expect((relay.Properties.Environment as { Variables: Json }).Variables).toEqual({
        USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    });

    it('starts the Redis service (its first task reads AWSPREVIOUS) only after the seeding', () => {
      expect(resources[logicalId(stack.redis.service)]?.DependsOn).toContain(seederId);
    });

    // Lib bug (reported): the seeding runs the rotation function, in isolated subnets, at deploy time;
    // it reaches Secrets Manager only through the interface endpoint, which nothing makes it wait
    // for. On a first deploy the custom resource can run before the endpoint exists and fail. When
    // lib/constructs/redis-password-rotation.ts adds the dependency, turn this into `it`.
    it('runs the seeding only after the Secrets Manager VPC endpoint exists', () => {
      const [endpoint] = Object.entries(resources).filter(
        ([, resource]) =>
          resource.Type === 'AWS::EC2::VPCEndpoint' &&
          JSON.stringify(resource.Properties.ServiceName).includes('.secretsmanager'),
      );
      expect(endpoint).toBeDefined();
      expect([...prerequisitesOf(resources, seederId)]).toContain(endpoint?.[0]);
    });

    it("gives the Redis container each password's AWSPREVIOUS version and the rotator password as Secrets", () => {
      const container = redisContainer(template);
      const secrets = (container.Secrets as { Name: string; ValueFrom: unknown }[]).filter(({ Name }) =>
        /_PREVIOUS$|ROTATOR/.test(Name),
      );
      const previous = (secret: string) => ({ 'Fn::Join': ['', [{ Ref: secret }, '::AWSPREVIOUS:']] });
      expect(secrets).toEqual([
        { Name: 'REDIS_PASSWORD_PREVIOUS', ValueFrom: previous(passwords.default) },
        { Name: 'REDIS_BACKUP_PASSWORD_PREVIOUS', ValueFrom: previous(passwords.backup) },
        { Name: 'REDIS_MONITOR_PASSWORD_PREVIOUS', ValueFrom: previous(passwords.monitor) },
        { Name: 'REDIS_ROTATOR_PASSWORD', ValueFrom: { Ref: logicalId(rotation.rotatorSecret) } },
      ]);
      const environment = (container.Environment as { Name: string }[]).map(({ Name }) => Name);
      expect(environment.filter((name) => /PASSWORD|ROTATOR/.test(name))).toEqual([]);
    });

    it("lets the task's execution role read the passwords' AWSPREVIOUS (no version-stage condition) and the rotator secret", () => {
      const executionRole = stack.redis.taskDefinition.executionRole;
      if (!executionRole) throw new Error('the task definition has no execution role');
      const reading = statementsOfRole(template, logicalId(executionRole)).filter((statement) =>
        JSON.stringify(statement.Action).includes('secretsmanager:'),
      );
      expect(reading).toHaveLength(1);
      const [statement] = reading as [Json];
      expect(statement.Action).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      // A condition on secretsmanager:VersionStage would refuse AWSPREVIOUS and stop the task.
      expect(statement).not.toHaveProperty('Condition');
      expect([statement.Resource].flat()).toEqual(
        expect.arrayContaining([
          ...Object.values(passwords).map((secret) => ({ Ref: secret })),
          { Ref: logicalId(rotation.rotatorSecret) },
        ]),
      );
      // And may decrypt them through Secrets Manager (the key's policy).
      const decrypt = keyStatementsFor(template, stack, logicalId(executionRole));
      expect(decrypt).toEqual([
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
              },
            },
          },
        }),
      ]);
    });

    it('no longer acknowledges AwsSolutions-SMG4 on the three passwords: the schedules satisfy it', () => {
      for (const secret of stack.redis.secrets.all)
        expect(acknowledgedOn(secret)).not.toContain('AwsSolutions-SMG4');
      expect(acknowledgedOn(rotation.rotatorSecret)).toEqual(['AwsSolutions-SMG4']);
      const smg4 = findings(real.validationReport(), 'AwsSolutions').filter(
        (line) => line.includes('SMG4') && line.includes(` @ ${stageName}/`),
      );
      expect(smg4).toEqual([]);
    });
  },
);

describe('Dev/Redis: passwords not rotated', () => {
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = real.stage('Dev').redisStack;
    template = real.template('Dev');
  });

  it('is configured without rotation', () => {
    expect(STAGE_CONFIG.Dev.passwordRotationDays).toBeUndefined();
    expect(stack.passwordRotation).toBeUndefined();
    expect(stack.node.tryFindChild('PasswordRotation')).toBeUndefined();
  });

  it('has no rotation schedule, rotator secret, seeding custom resource or rotation function', () => {
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    template.resourceCountIs('Custom::RedisPreviousPasswords', 0);
    const secrets = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets.filter((id) => /Rotat/.test(id))).toEqual([]);
    expect(secrets.sort()).toEqual(
      [
        ...stack.redis.secrets.all.map(logicalId),
        logicalId(stack.redis.tls?.caSecret as IConstruct),
        logicalId(stack.redis.tls?.serverSecret as IConstruct),
      ].sort(),
    );
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/PasswordRotation|rotates the Redis passwords|secretsmanager\.amazonaws\.com/);
  });

  it('gives the container no previous or rotator password', () => {
    const names = (redisContainer(template).Secrets as { Name: string }[]).map(({ Name }) => Name);
    expect(names).toEqual([
      'REDIS_PASSWORD',
      'REDIS_BACKUP_PASSWORD',
      'REDIS_MONITOR_PASSWORD',
      'REDIS_TLS_CERT',
      'REDIS_TLS_KEY',
      'REDIS_TLS_CA',
    ]);
    expect(JSON.stringify(template.toJSON())).not.toContain('AWSPREVIOUS');
  });

  it('acknowledges AwsSolutions-SMG4 on each of the three passwords, saying why it does not rotate', () => {
    for (const secret of stack.redis.secrets.all) {
      const entries = secret.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .map((entry) => entry.data as Record<string, string>);
      expect(entries).toEqual([
        { 'Annotation::AwsSolutions-SMG4': expect.stringMatching(/passwordRotationDays unset/) },
      ]);
    }
  });
});

describe('a stage rotating on its own schedule', () => {
  it.each([
    ['Weekly', 'rate(7 days)'],
    ['Yearly', 'rate(365 days)'],
  ])('%s: each schedule is %s, from passwordRotationDays', (stageName, expression) => {
    const schedules = Object.values(
      custom.template(stageName).findResources('AWS::SecretsManager::RotationSchedule'),
    );
    expect(schedules.map((schedule) => schedule.Properties.RotationRules)).toEqual([
      { ScheduleExpression: expression },
      { ScheduleExpression: expression },
      { ScheduleExpression: expression },
    ]);
  });

  it('with TLS off, points the function at the plaintext port and gives it no CA', () => {
    const stack = custom.stage('Weekly').redisStack;
    const variables = environmentOf(custom.template('Weekly'), rotationOf(stack).rotationFunction.function);
    expect(variables.REDIS_PORT).toBe('6379');
    expect(variables).not.toHaveProperty('REDIS_TLS_CA');
  });

  it('with TLS in transition, points the function at the TLS port with the stage CA', () => {
    const stack = custom.stage('Yearly').redisStack;
    const variables = environmentOf(custom.template('Yearly'), rotationOf(stack).rotationFunction.function);
    expect(variables.REDIS_PORT).toBe('6380');
    expect(variables.REDIS_TLS_CA).toEqual(caCertificateRef(stack));
  });

  it('retains the rotator secret of a stage that retains its data', () => {
    const stack = custom.stage('Yearly').redisStack;
    const secret = resourcesOf(custom.template('Yearly'))[logicalId(rotationOf(stack).rotatorSecret)];
    expect([secret?.DeletionPolicy, secret?.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
  });

  it('is cdk-nag clean, with no SMG4 acknowledgement on its passwords', () => {
    expect(findings(custom.validationReport(), 'AwsSolutions')).toEqual([]);
    for (const stageName of ['Weekly', 'Yearly']) {
      for (const secret of custom.stage(stageName).redisStack.redis.secrets.all)
        expect(acknowledgedOn(secret)).not.toContain('AwsSolutions-SMG4');
    }
  });
});
