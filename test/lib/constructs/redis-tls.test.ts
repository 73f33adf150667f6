import type { Template } from 'aws-cdk-lib/assertions';
import { devConfig, type StageConfig, type TlsMode } from '../../../lib/config';
import {
  CONNECTION_PARAMETER,
  connectionParameterPath,
  OPTIONAL_CONNECTION_PARAMETER,
} from '../../../lib/constructs/redis-connection-contract';
import { TLS_CERTIFICATE_ALARM_DAYS } from '../../../lib/constructs/redis-monitoring';
import { PUBLIC_CLIENT_CIDR_WARNING_ID } from '../../../lib/constructs/redis-security-groups';
import { RENEW_BEFORE_DAYS, SERVER_CERTIFICATE_DAYS } from '../../../lib/constructs/redis-tls';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import {
  caCertificateRef,
  findings,
  logicalId,
  redisTls,
  STAGE_CONFIG,
  STAGES,
  type SynthesizedApp,
  synthesize,
} from '../synth';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json; DependsOn?: string[] }>;

/** A stage of its own, next to Dev in one app (names and namespace must be unique). */
function customStage(stageName: string, change: Partial<StageConfig>): StageConfig {
  const envName = stageName.toLowerCase();
  return { ...devConfig, stageName, envName, dnsNamespace: `${envName}.emailclient.internal`, ...change };
}

const CONFIGURED_GROUP = 'sg-0123456789abcdef0';
/** Plaintext only (6379), with configured peers: a group, a private IPv4 and an IPv6 network. */
const OFF = customStage('Off', {
  tls: 'off',
  clientSecurityGroupIds: [CONFIGURED_GROUP],
  clientCidrs: ['10.50.0.0/16', '2001:db8:1234::/48'],
});
/** Both ports while consumers move to TLS, with a group and a public IPv4 network. */
const TRANSITIONAL = customStage('Transitional', {
  tls: 'transitional',
  clientSecurityGroupIds: [CONFIGURED_GROUP],
  clientCidrs: ['203.0.113.0/24'],
});
/** `tls` left out: the default must be TLS only. Same peers as the transitional stage. */
const UNSET = Object.fromEntries(
  Object.entries(
    customStage('Unset', { clientSecurityGroupIds: [CONFIGURED_GROUP], clientCidrs: ['203.0.113.0/24'] }),
  ).filter(([field]) => field !== 'tls'),
) as unknown as StageConfig;

let real: SynthesizedApp;
let modes: SynthesizedApp;
beforeAll(() => {
  real = synthesize();
  modes = synthesize({ stages: [OFF, TRANSITIONAL, UNSET] });
});
afterAll(() => {
  real?.cleanup();
  modes?.cleanup();
});

function resourcesOf(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/** Every ingress rule of a security group (inline and standalone), as `tcp <port> <- <source>: <description>`. */
function ingressOf(template: Template, groupId: string): string[] {
  const resources = resourcesOf(template);
  const describe = (rule: Json): string => {
    const group = rule.SourceSecurityGroupId as string | { 'Fn::GetAtt': string[] } | undefined;
    const source =
      group === undefined
        ? String(rule.CidrIp ?? rule.CidrIpv6 ?? rule.SourcePrefixListId)
        : `sg:${typeof group === 'string' ? group : group['Fn::GetAtt'][0]}`;
    const ports = rule.FromPort === rule.ToPort ? rule.FromPort : `${rule.FromPort}-${rule.ToPort}`;
    return `${rule.IpProtocol} ${ports} <- ${source}: ${rule.Description}`;
  };
  const inline = ((resources[groupId]?.Properties.SecurityGroupIngress as Json[] | undefined) ?? []).map(
    describe,
  );
  const standalone = Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::EC2::SecurityGroupIngress' &&
        JSON.stringify(resource.Properties.GroupId) ===
          JSON.stringify({ 'Fn::GetAtt': [groupId, 'GroupId'] }),
    )
    .map((resource) => describe(resource.Properties));
  return [...inline, ...standalone].sort();
}

/** The standalone egress rules of a security group, by logical id. */
function egressOf(template: Template, groupId: string): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(
      template.findResources('AWS::EC2::SecurityGroupEgress', {
        Properties: { GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] } },
      }),
    ).map(([id, rule]) => [id.replace(/[0-9A-F]{8}$/, ''), rule.Properties as Json]),
  );
}

/** The Redis container's definition. */
function redisContainer(template: Template): Json {
  const taskDefinitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  expect(taskDefinitions).toHaveLength(1);
  const [container] = (taskDefinitions[0]?.Properties.ContainerDefinitions ?? []) as Json[];
  expect(container?.Name).toBe('redis');
  return container as Json;
}

/** The environment variables of the functions that talk to Redis (backup, metrics, restore check). */
function redisFunctionsEnvironment(stack: RedisStack, template: Template): Json[] {
  const resources = resourcesOf(template);
  return [stack.backup.function, stack.monitoring.function, stack.restore.checkFunction].map(
    (fn) =>
      (resources[logicalId(fn.function)]?.Properties.Environment as { Variables: Json } | undefined)
        ?.Variables as Json,
  );
}

/** The certificate expiry alarm of a stage (an empty list when there is none). */
function alarmOf(template: Template, env: string): { Properties: Json; DependsOn?: string[] }[] {
  return Object.values(
    template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: `emailclient-redis-${env}-tls-certificate-expiring` },
    }),
  ) as { Properties: Json; DependsOn?: string[] }[];
}

/** Every SSM parameter of a template, name -> value. */
function ssmParameters(template: Template): Map<string, unknown> {
  return new Map(
    Object.values(template.findResources('AWS::SSM::Parameter')).map((parameter) => [
      String(parameter.Properties.Name),
      parameter.Properties.Value,
    ]),
  );
}

/** The statements of every IAM policy attached to a role. */
function statementsOfRole(template: Template, roleId: string): Json[] {
  return Object.values(resourcesOf(template))
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement);
}

describe('stage configuration: tls', () => {
  it('fails synth on an unknown mode, naming the stage, the field, the value and the allowed modes', () => {
    expect(() => synthesize({ stages: [{ ...devConfig, tls: 'maybe' as TlsMode }] })).toThrow(
      /Stage 'Dev', field 'tls', value "maybe": Allowed: 'off', 'transitional' \(.+\) or 'required' \(.+\)\./,
    );
  });

  it("defaults to 'required' when a stage leaves it out: TLS on 6380 only, with the stage's CA", () => {
    expect(UNSET).not.toHaveProperty('tls');
    const stack = modes.stage('Unset').redisStack;
    const template = modes.template('Unset');
    expect([stack.redis.tlsMode, stack.redis.port]).toEqual(['required', 6380]);
    expect(stack.redis.tls).toBeDefined();
    template.hasOutput('RedisPort', { Value: '6380' });
    const parameters = ssmParameters(template);
    expect(parameters.get(`${connectionParameterPath('unset')}${CONNECTION_PARAMETER.tls}`)).toBe('required');
    expect((redisContainer(template).PortMappings as Json[]).map((mapping) => mapping.ContainerPort)).toEqual(
      [6380],
    );
  });
});

describe.each([
  // stage, mode, served ports, the consumers' port, the client group's egress rules by id (one id
  // per port, stable across modes: a mode change adds or removes a rule, never duplicates one)
  ['Off', 'off', [6379], 6379, { SecurityGroupsClientToRedis: 6379 }],
  [
    'Transitional',
    'transitional',
    [6379, 6380],
    6379,
    { SecurityGroupsClientToRedis: 6379, SecurityGroupsClientToRedisTls: 6380 },
  ],
  ['Unset', 'required', [6380], 6380, { SecurityGroupsClientToRedisTls: 6380 }],
] as const)('security groups of a stage with tls %s (%s)', (stageName, mode, ports, consumer, egress) => {
  const config = { Off: OFF, Transitional: TRANSITIONAL, Unset: UNSET }[stageName];
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = modes.stage(stageName).redisStack;
    template = modes.template(stageName);
  });
  const what = (port: number) => (port === 6380 ? 'Redis TLS (6380)' : 'Redis (6379)');

  it(`admits exactly ${ports.join(' and ')}, from the client and functions groups and the configured peers`, () => {
    const redis = stack.redis;
    expect(ingressOf(template, logicalId(redis.redisSecurityGroup))).toEqual(
      ports
        .flatMap((port) => [
          `tcp ${port} <- sg:${logicalId(redis.clientSecurityGroup)}: ${what(port)} from the client group`,
          `tcp ${port} <- sg:${logicalId(redis.functionsSecurityGroup)}: ${what(port)} from the backup/metrics functions`,
          `tcp ${port} <- sg:${CONFIGURED_GROUP}: ${what(port)} from configured client group ${CONFIGURED_GROUP}`,
          ...config.clientCidrs.map(
            (cidr) => `tcp ${port} <- ${cidr}: ${what(port)} from configured client CIDR ${cidr}`,
          ),
        ])
        .sort(),
    );
    expect(redis.port).toBe(consumer);
    expect(redis.tlsMode).toBe(mode);
  });

  it('lets the client group out to Redis on exactly the served ports, one rule id per port', () => {
    const client = logicalId(stack.redis.clientSecurityGroup);
    const rules = egressOf(template, client);
    expect(Object.fromEntries(Object.entries(rules).map(([id, rule]) => [id, rule.FromPort]))).toEqual(
      egress,
    );
    for (const [id, rule] of Object.entries(rules)) {
      const port = (egress as Record<string, number>)[id] as number;
      expect(rule).toEqual({
        GroupId: { 'Fn::GetAtt': [client, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        DestinationSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack.redis.redisSecurityGroup), 'GroupId'] },
        Description: `${what(port)} only`,
      });
    }
    // The same descriptions in every mode: a changed GroupDescription REPLACES the group, and a
    // consumer that joined the client group would lose it.
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Redis clients: members may connect to Redis on 6379',
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Redis task: 6379 from the client and functions groups and configured peers',
    });
  });

  it('maps the container ports Redis serves, and publishes the consumers’ port', () => {
    expect(redisContainer(template).PortMappings).toEqual(
      ports.map((port) => ({
        ContainerPort: port,
        Protocol: 'tcp',
        Name: port === 6380 ? 'redis-tls' : 'redis',
      })),
    );
    template.hasOutput('RedisPort', { Value: String(consumer) });
    const path = connectionParameterPath(config.envName);
    expect(ssmParameters(template).get(`${path}${CONNECTION_PARAMETER.port}`)).toBe(String(consumer));
  });

  it('has no ingress from 0.0.0.0/0 or ::/0 anywhere', () => {
    const resources = Object.values(resourcesOf(template));
    const rules = [
      ...resources
        .filter((resource) => resource.Type === 'AWS::EC2::SecurityGroup')
        .flatMap((resource) => (resource.Properties.SecurityGroupIngress as Json[] | undefined) ?? []),
      ...resources
        .filter((resource) => resource.Type === 'AWS::EC2::SecurityGroupIngress')
        .map((resource) => resource.Properties),
    ];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      expect(rule.CidrIpv6).not.toBe('::/0');
    }
  });

  it('is cdk-nag clean', () => {
    expect(
      findings(modes.validationReport(), 'AwsSolutions').filter((line) => line.includes(` @ ${stageName}/`)),
    ).toEqual([]);
  });
});

describe('the public client CIDR warning', () => {
  it('says the stage serves plaintext while 6379 is open, and not once it is TLS only', () => {
    const warning = (stageName: string) =>
      modes.warnings(stageName).filter((line) => line.includes(PUBLIC_CLIENT_CIDR_WARNING_ID));
    expect(warning('Transitional')).toEqual([
      expect.stringMatching(
        /clientCidrs 203\.0\.113\.0\/24 is public IPv4 address space, and Redis serves plaintext on 6379 in this stage: admit only/,
      ),
    ]);
    expect(warning('Unset')).toEqual([
      expect.stringMatching(/clientCidrs 203\.0\.113\.0\/24 is public IPv4 address space: admit only/),
    ]);
    expect(warning('Off')).toEqual([]);
  });
});

describe.each(STAGES)('%s/Redis TLS (RedisTls)', (stageName) => {
  const config = STAGE_CONFIG[stageName];
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = real.stage(stageName).redisStack;
    template = real.template(stageName);
  });

  it('keeps the CA and the server certificate in two secrets encrypted with the stage key', () => {
    const tls = redisTls(stack);
    const resources = resourcesOf(template);
    const key = { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] };
    for (const [secret, description] of [
      [tls.caSecret, /the private CA \(certificate and key\)/],
      [tls.serverSecret, /Redis's TLS certificate, its key and the CA certificate/],
    ] as const) {
      const properties = resources[logicalId(secret)]?.Properties;
      expect(properties?.KmsKeyId).toEqual(key);
      expect(properties?.Description).toMatch(new RegExp(`^Redis \\(${config.envName}\\): `));
      expect(properties?.Description).toMatch(description);
      // A placeholder until the certificate function writes the real value: never a value of ours.
      expect(properties?.GenerateSecretString).toEqual({
        SecretStringTemplate: '{}',
        GenerateStringKey: 'placeholder',
        ExcludePunctuation: true,
      });
      expect(properties).not.toHaveProperty('SecretString');
    }
  });

  it('gives the container its certificate, key and CA as Secrets from the server secret, never as Environment', () => {
    const container = redisContainer(template);
    const server = { Ref: logicalId(redisTls(stack).serverSecret) };
    const secrets = Object.fromEntries(
      (container.Secrets as { Name: string; ValueFrom: unknown }[]).map(({ Name, ValueFrom }) => [
        Name,
        ValueFrom,
      ]),
    );
    expect(secrets).toMatchObject({
      REDIS_TLS_CERT: { 'Fn::Join': ['', [server, ':certificate::']] },
      REDIS_TLS_KEY: { 'Fn::Join': ['', [server, ':privateKey::']] },
      REDIS_TLS_CA: { 'Fn::Join': ['', [server, ':ca::']] },
    });
    const environment = container.Environment as { Name: string; Value: unknown }[];
    expect(environment.map(({ Name }) => Name)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^REDIS_TLS_(CERT|KEY|CA)$/)]),
    );
    expect(environment).toEqual(
      expect.arrayContaining([
        { Name: 'REDIS_TLS', Value: 'required' },
        { Name: 'REDIS_TLS_PORT', Value: '6380' },
      ]),
    );
    // The CA secret (the CA's private key) is not the container's business.
    expect(JSON.stringify(container)).not.toContain(logicalId(redisTls(stack).caSecret));
  });

  it('has no certificate or private key text anywhere in the template', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('BEGIN CERTIFICATE');
    expect(text).not.toContain('-----BEGIN');
  });

  it("lets only the certificate function read the CA secret; the task's execution role reads the server secret", () => {
    const tls = redisTls(stack);
    const resources = resourcesOf(template);
    const ca = `"${logicalId(tls.caSecret)}"`;
    const mentioningCa = Object.entries(resources)
      .filter(([id, resource]) => id !== logicalId(tls.caSecret) && JSON.stringify(resource).includes(ca))
      .map(([id]) => id)
      .sort();
    expect(mentioningCa).toEqual(
      [
        logicalId(tls.certificateFunction.function),
        logicalId(tls.certificateFunction.role.node.findChild('DefaultPolicy')),
      ].sort(),
    );
    const executionRole = stack.redis.taskDefinition.executionRole;
    if (!executionRole) throw new Error('the task definition has no execution role');
    const execution = statementsOfRole(template, logicalId(executionRole));
    // Its secrets: the three passwords, the server secret (certificate, key, CA) and, where passwords
    // rotate, the rotator's password; not the CA secret.
    const readable = execution
      .filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'))
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => (resource as { Ref: string }).Ref)
      .sort();
    expect(readable).toEqual(
      [
        logicalId(tls.serverSecret),
        ...stack.redis.secrets.all.map(logicalId),
        ...(stack.passwordRotation ? [logicalId(stack.passwordRotation.rotatorSecret)] : []),
      ].sort(),
    );
    expect(readable).not.toContain(logicalId(tls.caSecret));
    expect(stack.passwordRotation !== undefined).toBe(config.passwordRotationDays !== undefined);
    const task = statementsOfRole(template, logicalId(stack.redis.taskDefinition.taskRole));
    expect(JSON.stringify(task)).not.toContain('RedisTls');
  });

  it('runs the certificate function outside the VPC, with exactly these permissions (no wildcard action)', () => {
    const tls = redisTls(stack);
    const fn = tls.certificateFunction;
    const cluster = logicalId(stack.redis.cluster);
    const key = { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] };
    const statements = statementsOfRole(template, logicalId(fn.role));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] },
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key },
      {
        Effect: 'Allow',
        // What lambda/tls-certificates calls: Get and PutSecretValue, nothing else.
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        Resource: [{ Ref: logicalId(tls.caSecret) }, { Ref: logicalId(tls.serverSecret) }],
      },
      { Sid: 'EncryptSecretValues', Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: key },
      {
        Sid: 'RestartRedisAfterRenewal',
        Effect: 'Allow',
        Action: 'ecs:UpdateService',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':ecs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':service/',
              { Ref: cluster },
              '/*',
            ],
          ],
        },
      },
      {
        Sid: 'FindTheRedisService',
        Effect: 'Allow',
        Action: 'ecs:ListServices',
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [cluster, 'Arn'] } } },
      },
    ]);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(String(action)).not.toContain('*');
    }
    const properties = resourcesOf(template)[logicalId(fn.function)]?.Properties;
    expect(properties?.VpcConfig).toBeUndefined();
    expect(properties?.Environment).toEqual({
      Variables: {
        STAGE: config.envName,
        CA_SECRET_ARN: { Ref: logicalId(tls.caSecret) },
        SERVER_SECRET_ARN: { Ref: logicalId(tls.serverSecret) },
        DNS_NAMES: `redis.${config.dnsNamespace},localhost`,
        IP_ADDRESSES: '127.0.0.1',
        CLUSTER_NAME: { Ref: cluster },
        SERVER_VALID_DAYS: '365',
        RENEW_BEFORE_DAYS: '60',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    expect(properties?.KmsKeyArn).toEqual(key);
  });

  it('issues the certificates with a custom resource the Redis service depends on', () => {
    const tls = redisTls(stack);
    const resources = resourcesOf(template);
    const issued = logicalId(tls.issued);
    const custom = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::RedisTlsCertificates');
    expect(custom.map(([id]) => id)).toEqual([issued]);
    expect(resources[issued]?.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^RedisTlsProviderframeworkonEvent/), 'Arn'] },
      DnsNames: `redis.${config.dnsNamespace},localhost`,
    });
    expect(resources[logicalId(stack.redis.service)]?.DependsOn).toContain(issued);
    expect(stack.redis.caCertificatePem).toBeDefined();
    expect(stack.resolve(stack.redis.caCertificatePem)).toEqual(caCertificateRef(stack));
  });

  it('checks for renewal on Sundays 03:30 UTC, only after the first issue', () => {
    const tls = redisTls(stack);
    const rules = Object.entries(resourcesOf(template)).filter(
      ([, r]) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties.Targets).includes(`"${logicalId(tls.certificateFunction.function)}"`),
    );
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0] as [string, Resources[string]];
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 3 ? * SUN *)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [logicalId(tls.certificateFunction.function), 'Arn'] },
          Id: expect.any(String),
          RetryPolicy: { MaximumRetryAttempts: 2 },
        },
      ],
    });
    expect(rule.DependsOn).toContain(logicalId(tls.issued));
  });

  it('gives the backup, metrics and restore-check functions the TLS port and the CA from the custom resource', () => {
    for (const environment of redisFunctionsEnvironment(stack, template)) {
      expect(environment).toMatchObject({ REDIS_PORT: '6380', REDIS_TLS_CA: caCertificateRef(stack) });
    }
  });

  it('publishes ca-bundle (the CA from the custom resource) and tls-port 6380, equal to port', () => {
    const parameters = ssmParameters(template);
    const path = connectionParameterPath(config.envName);
    expect(parameters.get(`${path}${OPTIONAL_CONNECTION_PARAMETER.caBundle}`)).toEqual(
      caCertificateRef(stack),
    );
    expect(parameters.get(`${path}${OPTIONAL_CONNECTION_PARAMETER.tlsPort}`)).toBe('6380');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.port}`)).toBe('6380');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.tls}`)).toBe('required');
  });
});

describe('the certificate expiry alarm', () => {
  it.each([
    ['Dev', 'dev'],
    ['Staging', 'staging'],
    ['Prod', 'prod'],
    ['Transitional', 'transitional'],
    ['Unset', 'unset'],
  ])(
    '%s: the served certificate has under 14 days left (hourly minimum), no data is not an alarm',
    (stageName, env) => {
      const app = (STAGES as readonly string[]).includes(stageName) ? real : modes;
      const stack = app.stage(stageName).redisStack;
      const alarms = alarmOf(app.template(stageName), env);
      expect(alarms).toHaveLength(1);
      const topic = { Ref: logicalId(stack.monitoring.topic) };
      expect(alarms[0]?.Properties).toMatchObject({
        MetricName: 'TlsCertificateDaysLeft',
        Namespace: 'EmailPlatform/Redis',
        Dimensions: [
          { Name: 'Stage', Value: env },
          { Name: 'service', Value: 'redis-metrics' },
        ],
        Statistic: 'Minimum',
        Period: 3600,
        Threshold: 14,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
        OKActions: [topic],
        AlarmDescription: expect.stringMatching(
          /Runbook: docs\/runbook\/alarms\.md, "tls-certificate-expiring"\.$/,
        ),
      });
      expect(alarms[0]?.DependsOn).toEqual([logicalId(stack.monitoring.firstDataGate.resource)]);
    },
  );

  it('fires well before a certificate the weekly renewal should have replaced runs out', () => {
    expect(TLS_CERTIFICATE_ALARM_DAYS).toBe(14);
    // Renewed once under 60 days are left, checked weekly: a working renewal replaces the
    // certificate with at least 53 days left, so the alarm (under 14) means renewals failed for weeks.
    expect(RENEW_BEFORE_DAYS - 7).toBeGreaterThan(TLS_CERTIFICATE_ALARM_DAYS);
    expect(SERVER_CERTIFICATE_DAYS).toBeGreaterThan(RENEW_BEFORE_DAYS);
  });
});

describe('a stage with tls off has none of the TLS machinery', () => {
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = modes.stage('Off').redisStack;
    template = modes.template('Off');
  });

  it('has no RedisTls: no TLS secrets, certificate function, custom resource or renewal schedule', () => {
    expect(stack.redis.tls).toBeUndefined();
    expect(stack.redis.caCertificatePem).toBeUndefined();
    expect(stack.node.tryFindChild('Redis')?.node.tryFindChild('Tls')).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret')).sort()).toEqual(
      stack.redis.secrets.all.map((secret) => logicalId(secret)).sort(),
    );
    template.resourceCountIs('Custom::RedisTlsCertificates', 0);
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/RedisTls|CA_SECRET_ARN|SERVER_SECRET_ARN|cron\(30 3 \? \* SUN \*\)/);
  });

  it('gives the container no REDIS_TLS* setting or secret', () => {
    const container = redisContainer(template);
    expect(JSON.stringify([container.Environment, container.Secrets])).not.toContain('REDIS_TLS');
  });

  it('gives the functions the plaintext port and no CA', () => {
    for (const environment of redisFunctionsEnvironment(stack, template)) {
      expect(environment.REDIS_PORT).toBe('6379');
      expect(environment).not.toHaveProperty('REDIS_TLS_CA');
    }
  });

  it('has no certificate expiry alarm', () => {
    expect(alarmOf(template, 'off')).toEqual([]);
    expect(stack.monitoring.alarms.tlsCertificateExpiring).toBeUndefined();
  });

  it('publishes tls off and neither ca-bundle nor tls-port', () => {
    const parameters = ssmParameters(template);
    const path = connectionParameterPath('off');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.tls}`)).toBe('off');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.port}`)).toBe('6379');
    expect([...parameters.keys()].filter((name) => /ca-bundle|tls-port/.test(name))).toEqual([]);
  });
});

describe('a transitional stage', () => {
  it('keeps port at 6379 for consumers not yet on TLS, publishes tls-port 6380 and ca-bundle, gives the functions the TLS port and the CA', () => {
    const stack = modes.stage('Transitional').redisStack;
    const template = modes.template('Transitional');
    const parameters = ssmParameters(template);
    const path = connectionParameterPath('transitional');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.tls}`)).toBe('transitional');
    expect(parameters.get(`${path}${CONNECTION_PARAMETER.port}`)).toBe('6379');
    expect(parameters.get(`${path}${OPTIONAL_CONNECTION_PARAMETER.tlsPort}`)).toBe('6380');
    expect(parameters.get(`${path}${OPTIONAL_CONNECTION_PARAMETER.caBundle}`)).toEqual(
      caCertificateRef(stack),
    );
    for (const environment of redisFunctionsEnvironment(stack, template)) {
      expect(environment).toMatchObject({ REDIS_PORT: '6380', REDIS_TLS_CA: caCertificateRef(stack) });
    }
    expect(redisContainer(template).Environment).toEqual(
      expect.arrayContaining([
        { Name: 'REDIS_TLS', Value: 'transitional' },
        { Name: 'REDIS_TLS_PORT', Value: '6380' },
      ]),
    );
  });

  it('publishes tls-port 6380 in every mode that serves TLS, and port 6380 only once TLS is required', () => {
    const published = [
      ...STAGES.map((name) => [real, name] as const),
      [modes, 'Transitional'] as const,
      [modes, 'Unset'] as const,
    ].map(([app, name]) => {
      const parameters = [...ssmParameters(app.template(name)).entries()];
      const value = (suffix: string) => parameters.find(([key]) => key.endsWith(`/${suffix}`))?.[1];
      return [name, value('tls'), value('port'), value('tls-port')];
    });
    expect(published).toEqual([
      ...STAGES.map((name) => [name, 'required', '6380', '6380']),
      ['Transitional', 'transitional', '6379', '6380'],
      ['Unset', 'required', '6380', '6380'],
    ]);
  });
});
