import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { EVICTION_WARNING_ID } from '../../../lib/constructs/redis-service';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { logicalId, redisTls, STAGE_CONFIG, STAGES, type SynthesizedApp, synthesize } from '../synth';

/** The warnings about the eviction policy (the Redis service's), not the other constructs'. */
function evictionWarnings(synthesized: SynthesizedApp, stageName: string): string[] {
  return synthesized.warnings(stageName).filter((warning) => /\/Redis\/Redis: /.test(warning));
}

type Json = Record<string, unknown>;

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

/** The statements of every IAM policy attached to a role. */
function statementsOfRole(
  resources: Record<string, { Type: string; Properties: Json }>,
  roleId: string,
): Json[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement);
}

/** Every ingress rule of a security group (inline and standalone), as `proto from-to <- source`. */
function ingressOf(template: Template, groupId: string): string[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const describe = (rule: Json): string => {
    const source = rule.SourceSecurityGroupId
      ? `sg:${(rule.SourceSecurityGroupId as { 'Fn::GetAtt': string[] })['Fn::GetAtt']?.[0] ?? JSON.stringify(rule.SourceSecurityGroupId)}`
      : String(rule.CidrIp ?? rule.CidrIpv6 ?? rule.SourcePrefixListId);
    return `${rule.IpProtocol} ${rule.FromPort}-${rule.ToPort} <- ${source}`;
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

describe.each(STAGES)('%s/Redis', (stageName) => {
  const config = STAGE_CONFIG[stageName];
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = synthesized.stage(stageName).redisStack;
    template = synthesized.template(stageName);
  });

  describe('service', () => {
    it('runs exactly one Redis: min 0% / max 100%, circuit breaker with rollback', () => {
      template.hasResourceProperties('AWS::ECS::Service', {
        LaunchType: 'FARGATE',
        DeploymentConfiguration: {
          MinimumHealthyPercent: 0,
          MaximumPercent: 100,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        },
        AvailabilityZoneRebalancing: 'DISABLED',
      });
    });

    it('leaves DesiredCount out: created with 1 task, never reset to 1 by a deploy during a restore', () => {
      const [service] = Object.values(template.findResources('AWS::ECS::Service')) as { Properties: Json }[];
      expect(service?.Properties).not.toHaveProperty('DesiredCount');
    });

    it('runs on Fargate 1.4.0 (EFS), in private subnets without a public IP, with ECS Exec', () => {
      template.hasResourceProperties('AWS::ECS::Service', {
        PlatformVersion: '1.4.0',
        EnableExecuteCommand: true,
        NetworkConfiguration: {
          AwsvpcConfiguration: {
            AssignPublicIp: 'DISABLED',
            SecurityGroups: [{ 'Fn::GetAtt': [logicalId(stack.redis.redisSecurityGroup), 'GroupId'] }],
          },
        },
      });
    });

    it('has the spec health check (30/10/5/3), a 120 s stop timeout and an init process', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            Name: 'redis',
            HealthCheck: {
              Command: ['CMD', '/usr/local/bin/redis-healthcheck'],
              Interval: 30,
              Timeout: 10,
              StartPeriod: 5,
              Retries: 3,
            },
            StopTimeout: 120,
            LinuxParameters: Match.objectLike({ InitProcessEnabled: true }),
            // TLS only (every real stage is `required`): 6380, and no plaintext 6379 mapping.
            PortMappings: [{ ContainerPort: 6380, Protocol: 'tcp', Name: 'redis-tls' }],
            User: '999:1000',
          }),
        ],
      });
    });

    it('sizes the task from the config', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: String(config.taskCpu),
        Memory: String(config.taskMemoryMiB),
        RequiresCompatibilities: ['FARGATE'],
      });
    });

    it('injects the passwords (previous ones too where they rotate) and the TLS certificate, key and CA as Secrets, never as Environment', () => {
      const secrets = stack.redis.secrets;
      const server = logicalId(redisTls(stack).serverSecret);
      const field = (name: string) => ({ 'Fn::Join': ['', [{ Ref: server }, `:${name}::`]] });
      const previous = (secret: IConstruct) => ({
        'Fn::Join': ['', [{ Ref: logicalId(secret) }, '::AWSPREVIOUS:']],
      });
      const rotation = stack.passwordRotation;
      const expected = [
        { Name: 'REDIS_PASSWORD', ValueFrom: { Ref: logicalId(secrets.password) } },
        { Name: 'REDIS_BACKUP_PASSWORD', ValueFrom: { Ref: logicalId(secrets.backupPassword) } },
        { Name: 'REDIS_MONITOR_PASSWORD', ValueFrom: { Ref: logicalId(secrets.monitorPassword) } },
        // JSON fields of the server secret (RedisTls), resolved by ECS at task start.
        { Name: 'REDIS_TLS_CERT', ValueFrom: field('certificate') },
        { Name: 'REDIS_TLS_KEY', ValueFrom: field('privateKey') },
        { Name: 'REDIS_TLS_CA', ValueFrom: field('ca') },
        // Where passwords rotate: each password's AWSPREVIOUS version (still valid until the next
        // rotation) and the rotator ACL user's password (RedisPasswordRotation).
        ...(rotation
          ? [
              { Name: 'REDIS_PASSWORD_PREVIOUS', ValueFrom: previous(secrets.password) },
              { Name: 'REDIS_BACKUP_PASSWORD_PREVIOUS', ValueFrom: previous(secrets.backupPassword) },
              { Name: 'REDIS_MONITOR_PASSWORD_PREVIOUS', ValueFrom: previous(secrets.monitorPassword) },
              { Name: 'REDIS_ROTATOR_PASSWORD', ValueFrom: { Ref: logicalId(rotation.rotatorSecret) } },
            ]
          : []),
      ];
      expect(expected).toHaveLength({ Dev: 6, Staging: 10, Prod: 10 }[stageName]);
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            Secrets: expected,
            Environment: [
              { Name: 'REDIS_ENV', Value: 'production' },
              { Name: 'REDIS_MAXMEMORY', Value: config.maxmemory },
              { Name: 'REDIS_MAXMEMORY_POLICY', Value: config.maxmemoryPolicy },
              { Name: 'REDIS_TLS', Value: 'required' },
              { Name: 'REDIS_TLS_PORT', Value: '6380' },
            ],
          }),
        ],
      });
    });

    it('mounts the access point at /data with transit encryption and IAM authorization', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Volumes: Match.arrayWith([
          {
            Name: 'data',
            EFSVolumeConfiguration: {
              FilesystemId: { Ref: logicalId(stack.redis.fileSystem) },
              TransitEncryption: 'ENABLED',
              AuthorizationConfig: {
                AccessPointId: { Ref: logicalId(stack.redis.accessPoint) },
                IAM: 'ENABLED',
              },
            },
          },
        ]),
        ContainerDefinitions: [
          Match.objectLike({
            MountPoints: [
              { ContainerPath: '/data', SourceVolume: 'data', ReadOnly: false },
              { ContainerPath: '/managed-agents', SourceVolume: 'exec-managed-agents', ReadOnly: false },
              { ContainerPath: '/var/lib/amazon', SourceVolume: 'exec-agent-state', ReadOnly: false },
              { ContainerPath: '/var/log/amazon', SourceVolume: 'exec-agent-logs', ReadOnly: false },
              { ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false },
              // This start's TLS files and health check password (the image's /run/redis).
              { ContainerPath: '/run/redis', SourceVolume: 'runtime', ReadOnly: false },
            ],
          }),
        ],
      });
    });

    it('creates the service after every VPC endpoint and the execution role policy the first task needs', () => {
      const resources = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
      const service = resources[logicalId(stack.redis.service)];
      const endpoints = Object.entries(resources)
        .filter(([, resource]) => resource.Type === 'AWS::EC2::VPCEndpoint')
        .map(([id]) => id);
      expect(endpoints).toHaveLength(7);
      const executionPolicy = stack.redis.taskDefinition.executionRole?.node.findChild('DefaultPolicy');
      expect(service?.DependsOn).toEqual(
        expect.arrayContaining([...endpoints, logicalId(executionPolicy as never)]),
      );
    });

    it('where passwords rotate, creates the service after the custom resource that seeds AWSPREVIOUS', () => {
      const resources = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
      const seeders = Object.keys(template.findResources('Custom::RedisPreviousPasswords'));
      expect(seeders).toHaveLength(config.passwordRotationDays === undefined ? 0 : 1);
      const service = resources[logicalId(stack.redis.service)];
      for (const seeder of seeders) expect(service?.DependsOn).toContain(seeder);
    });

    it('limits the VPC endpoints: S3 to the stage bucket and ECR layers, the others to this account', () => {
      const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
      const endpoints = Object.values(resources).filter(
        (resource) => resource.Type === 'AWS::EC2::VPCEndpoint',
      );
      const bucket = logicalId(stack.backup.bucket);
      const account = { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } };
      for (const endpoint of endpoints) {
        const statements = (endpoint.Properties.PolicyDocument as { Statement: Json[] }).Statement;
        if (endpoint.Properties.VpcEndpointType === 'Interface') {
          expect(statements).toEqual([
            {
              Sid: 'ThisAccountOnly',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: '*',
              Resource: '*',
              Condition: { StringEquals: account },
            },
          ]);
        } else {
          expect(statements).toEqual([
            {
              Sid: 'EcrImageLayers',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: 's3:GetObject',
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':s3:::prod-',
                    { Ref: 'AWS::Region' },
                    '-starport-layer-bucket/*',
                  ],
                ],
              },
            },
            {
              Sid: 'ThisStagesBuckets',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Resource: [
                { 'Fn::GetAtt': [bucket, 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
              ],
              Condition: { StringEquals: account },
            },
          ]);
        }
      }
    });

    it('lets configured extra buckets through the S3 endpoint, for other workloads in the VPC', () => {
      const withExtra = synthesize({
        stages: [
          {
            ...STAGE_CONFIG.Dev,
            vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAzs: 2, s3EndpointBuckets: ['email-attachments'] },
          },
        ],
      });
      try {
        const endpoint = Object.values(withExtra.template('Dev').findResources('AWS::EC2::VPCEndpoint')).find(
          (resource) => resource.Properties.VpcEndpointType === 'Gateway',
        );
        const statement = endpoint?.Properties.PolicyDocument.Statement.find(
          (s: Json) => s.Sid === 'ThisStagesBuckets',
        );
        expect(JSON.stringify(statement.Resource)).toContain(':s3:::email-attachments/*');
      } finally {
        withExtra.cleanup();
      }
    });

    it('still lets the task and every function reach what they use in S3: only the stage bucket', () => {
      // Every S3 resource any role of the stack is granted must be one the gateway endpoint allows.
      const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
      const s3Resources = Object.values(resources)
        .filter((resource) => resource.Type === 'AWS::IAM::Policy')
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement)
        .filter((statement) => [statement.Action].flat().some((action) => String(action).startsWith('s3:')))
        .flatMap((statement) => [statement.Resource].flat());
      expect(s3Resources.length).toBeGreaterThan(3);
      for (const resource of s3Resources)
        expect(JSON.stringify(resource)).toContain(`"${logicalId(stack.backup.bucket)}"`);
      // And the task's image layers come from ECR's bucket, allowed above.
      const executionRole = JSON.stringify(
        statementsOfRole(resources, logicalId(stack.redis.taskDefinition.executionRole as never)),
      );
      expect(executionRole).toContain('ecr:GetDownloadUrlForLayer');
    });

    it('runs Redis on a read-only root: only /data (EFS) and task-scoped scratch folders are writable', () => {
      const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
      const [container] = taskDefinition?.Properties.ContainerDefinitions ?? [];
      expect(container.ReadonlyRootFilesystem).toBe(true);
      // The scratch volumes are Fargate task storage: no host path, no EFS, gone with the task.
      const volumes = taskDefinition?.Properties.Volumes as Json[];
      expect(volumes.filter((volume) => volume.Name !== 'data')).toEqual([
        { Name: 'exec-managed-agents' },
        { Name: 'exec-agent-state' },
        { Name: 'exec-agent-logs' },
        { Name: 'tmp' },
        { Name: 'runtime' },
      ]);
    });

    it('lets the task role mount and write only through the access point', () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: logicalId(stack.redis.taskDefinition.taskRole) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
              Resource: { 'Fn::GetAtt': [logicalId(stack.redis.fileSystem), 'Arn'] },
              Condition: {
                StringEquals: { 'elasticfilesystem:AccessPointArn': Match.anyValue() },
                Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
              },
            },
          ]),
        },
      });
    });

    it('logs to an encrypted log group with the configured retention, without blocking Redis', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: config.logRetentionDays,
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
      });
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            LogConfiguration: {
              LogDriver: 'awslogs',
              Options: Match.objectLike({
                'awslogs-group': { Ref: logicalId(stack.redis.logGroup) },
                mode: 'non-blocking',
              }),
            },
          }),
        ],
      });
    });

    it('has Container Insights and audited, KMS-encrypted ECS Exec sessions', () => {
      template.hasResourceProperties('AWS::ECS::Cluster', {
        ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }],
        Configuration: {
          ExecuteCommandConfiguration: {
            KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
            Logging: 'OVERRIDE',
            LogConfiguration: {
              CloudWatchEncryptionEnabled: true,
              CloudWatchLogGroupName: { Ref: logicalId(stack.redis.execLogGroup) },
            },
          },
        },
      });
    });
  });

  describe('storage', () => {
    it('encrypts the file system with the customer-managed key, elastic throughput', () => {
      template.hasResourceProperties('AWS::EFS::FileSystem', {
        Encrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
        ThroughputMode: 'elastic',
      });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('requires TLS and an access point in the file system policy, and allows nothing', () => {
      template.hasResourceProperties('AWS::EFS::FileSystem', {
        FileSystemPolicy: {
          Statement: [
            {
              Sid: 'DenyWithoutTls',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: '*',
              Resource: '*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
            {
              Sid: 'DenyWithoutAccessPoint',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: [
                'elasticfilesystem:ClientMount',
                'elasticfilesystem:ClientRootAccess',
                'elasticfilesystem:ClientWrite',
              ],
              Resource: '*',
              Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
            },
          ],
        },
      });
    });

    it("maps every client to the image's redis user (999:1000) in /redis, owned by it", () => {
      template.hasResourceProperties('AWS::EFS::AccessPoint', {
        FileSystemId: { Ref: logicalId(stack.redis.fileSystem) },
        PosixUser: { Uid: '999', Gid: '1000' },
        RootDirectory: {
          Path: '/redis',
          CreationInfo: { OwnerUid: '999', OwnerGid: '1000', Permissions: '750' },
        },
      });
    });
  });

  describe('secrets', () => {
    it('generates three URL-safe passwords (and the rotator password where they rotate: no punctuation, >= 32 chars), KMS-encrypted', () => {
      const secrets = template.findResources('AWS::SecretsManager::Secret', {
        Properties: {
          GenerateSecretString: {
            ExcludePunctuation: true,
            IncludeSpace: false,
            PasswordLength: Match.anyValue(),
          },
          KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
        },
      });
      const rotator = stack.passwordRotation?.rotatorSecret;
      expect(rotator !== undefined).toBe(config.passwordRotationDays !== undefined);
      expect(Object.keys(secrets).sort()).toEqual(
        [...stack.redis.secrets.all.map(logicalId), ...(rotator ? [logicalId(rotator)] : [])].sort(),
      );
      for (const secret of Object.values(secrets)) {
        const generate = secret.Properties.GenerateSecretString;
        expect(generate.PasswordLength).toBeGreaterThanOrEqual(32);
        expect(generate.SecretStringTemplate).toBeUndefined();
      }
    });

    it('never puts a secret value in the template (no dynamic reference to a secret string)', () => {
      const text = JSON.stringify(template.toJSON());
      expect(text).not.toMatch(/resolve:secretsmanager/);
      expect(text).not.toMatch(/"SecretString"/);
    });
  });

  describe('security groups', () => {
    it('admits Redis TLS (6380) only from the client group and the functions group: no plaintext 6379', () => {
      const redis = stack.redis;
      expect(ingressOf(template, logicalId(redis.redisSecurityGroup))).toEqual(
        [
          `tcp 6380-6380 <- sg:${logicalId(redis.clientSecurityGroup)}`,
          `tcp 6380-6380 <- sg:${logicalId(redis.functionsSecurityGroup)}`,
        ].sort(),
      );
    });

    it('admits NFS (2049) to the file system only from the Redis task and the restore function', () => {
      expect(ingressOf(template, logicalId(stack.redis.fileSystemSecurityGroup)).sort()).toEqual(
        [
          `tcp 2049-2049 <- sg:${logicalId(stack.redis.redisSecurityGroup)}`,
          `tcp 2049-2049 <- sg:${logicalId(stack.restore.restoreSecurityGroup)}`,
        ].sort(),
      );
    });

    it('gives the client group no ingress and no egress but 6380 (TLS) to Redis', () => {
      const client = logicalId(stack.redis.clientSecurityGroup);
      expect(ingressOf(template, client)).toEqual([]);
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('Redis clients'),
        // CDK's placeholder: a group with no inline egress rule would keep EC2's default allow-all.
        SecurityGroupEgress: [
          Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
        ],
      });
      const egress = template.findResources('AWS::EC2::SecurityGroupEgress', {
        Properties: { GroupId: { 'Fn::GetAtt': [client, 'GroupId'] } },
      });
      // One rule, under the TLS port's own id (ClientToRedisTls; 6379's is ClientToRedis): moving
      // between modes adds or removes a rule, never two rules for one port.
      expect(Object.entries(egress).map(([id, rule]) => [id, rule.Properties])).toEqual([
        [
          expect.stringMatching(/^SecurityGroupsClientToRedisTls[0-9A-F]{8}$/),
          {
            GroupId: { 'Fn::GetAtt': [client, 'GroupId'] },
            IpProtocol: 'tcp',
            FromPort: 6380,
            ToPort: 6380,
            DestinationSecurityGroupId: {
              'Fn::GetAtt': [logicalId(stack.redis.redisSecurityGroup), 'GroupId'],
            },
            Description: 'Redis TLS (6380) only',
          },
        ],
      ]);
    });

    it('lets the Redis task out only on 443 (endpoints) and 2049 (its file system)', () => {
      const redis = logicalId(stack.redis.redisSecurityGroup);
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('^Redis task'),
        SecurityGroupEgress: [
          {
            CidrIp: '0.0.0.0/0',
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            Description: Match.anyValue(),
          },
        ],
      });
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: { 'Fn::GetAtt': [redis, 'GroupId'] },
        FromPort: 2049,
        DestinationSecurityGroupId: {
          'Fn::GetAtt': [logicalId(stack.redis.fileSystemSecurityGroup), 'GroupId'],
        },
      });
    });

    it('admits HTTPS to the VPC endpoints from the VPC only', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('^Interface VPC endpoints'),
        SecurityGroupIngress: [
          Match.objectLike({ CidrIp: (config.vpc as { cidr: string }).cidr, FromPort: 443 }),
        ],
      });
    });

    it('has no ingress from 0.0.0.0/0 or ::/0 anywhere', () => {
      const resources = Object.values(
        template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>,
      );
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
  });

  describe('network', () => {
    it('has private isolated subnets only: no internet gateway, no NAT', () => {
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: (config.vpc as { cidr: string }).cidr });
    });

    it('logs all VPC traffic to an encrypted log group', () => {
      template.hasResourceProperties('AWS::EC2::FlowLog', {
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
    });

    it.each(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'ssmmessages', 'kms'])(
      'has an interface endpoint with private DNS for %s',
      (service) => {
        template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
          VpcEndpointType: 'Interface',
          PrivateDnsEnabled: true,
          ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
        });
      },
    );

    it('has an S3 gateway endpoint (image layers, backups)', () => {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      });
    });
  });

  describe('discovery and outputs', () => {
    it('registers Redis in Cloud Map as redis.<namespace> (A record)', () => {
      template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
        Name: config.dnsNamespace,
      });
      template.hasResourceProperties('AWS::ServiceDiscovery::Service', {
        Name: 'redis',
        DnsConfig: Match.objectLike({ DnsRecords: [{ Type: 'A', TTL: 10 }] }),
      });
      template.hasResourceProperties('AWS::ECS::Service', {
        ServiceRegistries: [
          { RegistryArn: { 'Fn::GetAtt': [logicalId(stack.redis.cloudMapService), 'Arn'] } },
        ],
      });
      expect(stack.redis.hostName).toBe(`redis.${config.dnsNamespace}`);
    });

    it('outputs host, port, client security group and secret ARNs, never a secret value', () => {
      const secrets = stack.redis.secrets;
      template.hasOutput('RedisHost', { Value: `redis.${config.dnsNamespace}` });
      template.hasOutput('RedisPort', { Value: '6380' });
      template.hasOutput('ClientSecurityGroupId', {
        Value: { 'Fn::GetAtt': [logicalId(stack.redis.clientSecurityGroup), 'GroupId'] },
      });
      template.hasOutput('RedisPasswordSecretArn', { Value: { Ref: logicalId(secrets.password) } });
      template.hasOutput('BackupPasswordSecretArn', { Value: { Ref: logicalId(secrets.backupPassword) } });
      template.hasOutput('MonitorPasswordSecretArn', { Value: { Ref: logicalId(secrets.monitorPassword) } });
      const outputs = JSON.stringify(template.toJSON().Outputs);
      expect(outputs).not.toMatch(/resolve:secretsmanager|SecretString|Password"/);
      expect(outputs).not.toMatch(/Export/);
    });
  });

  describe('warnings', () => {
    it('warns that allkeys-lru can evict Celery broker keys', () => {
      expect(evictionWarnings(synthesized, stageName)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^/${stageName}/Redis/Redis: .*allkeys-lru.*_kombu\\.binding.*Decide for this stage: keep allkeys-lru \\(the spec's choice\\) and size maxmemory .*the Evictions alarm.* or set maxmemoryPolicy: 'noeviction' in lib/config/${config.envName}\\.ts.*\\[ack: ${EVICTION_WARNING_ID}\\]$`,
          ),
        ),
      ]);
      // The stack already alarms on evictions: the warning must not ask for what exists.
      expect(synthesized.printed).not.toMatch(/alarm on evicted_keys/);
      expect(synthesized.printed).toContain(`Redis (${config.envName}) uses maxmemory-policy allkeys-lru`);
    });
  });
});

describe('data retention per stage', () => {
  const STATEFUL = ['AWS::EFS::FileSystem', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup'] as const;

  it.each([
    ['Dev', 'Delete'],
    ['Staging', 'Delete'],
    ['Prod', 'Retain'],
  ])('%s: file system, secrets and log groups are %sd with the stack', (stageName, policy) => {
    const template = synthesized.template(stageName);
    for (const type of STATEFUL) {
      const resources = template.findResources(type);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const [id, resource] of Object.entries(resources)) {
        // The one named log group (the restore state machine's, under /aws/vendedlogs/states/) is
        // kept except when a failed first deploy rolls back: its name must be free for the retry.
        const named = resource.Properties?.LogGroupName !== undefined;
        expect({
          id,
          DeletionPolicy: resource.DeletionPolicy,
          UpdateReplacePolicy: resource.UpdateReplacePolicy,
        }).toEqual({
          id,
          DeletionPolicy: named && policy === 'Retain' ? 'RetainExceptOnCreate' : policy,
          UpdateReplacePolicy: policy,
        });
      }
    }
  });

  it.each(STAGES)(
    '%s: the KMS key is always retained (the retained backup bucket stays readable)',
    (stageName) => {
      const keys = Object.values(synthesized.template(stageName).findResources('AWS::KMS::Key'));
      expect(keys.map((key) => [key.DeletionPolicy, key.UpdateReplacePolicy])).toEqual([
        ['Retain', 'Retain'],
      ]);
    },
  );

  it('turns on termination protection in prod only', () => {
    const protection = STAGES.map(
      (stageName) => synthesized.stage(stageName).redisStack.terminationProtection,
    );
    expect(protection).toEqual([false, false, true]);
    const artifact = synthesized
      .stage('Prod')
      .synth()
      .getStackArtifact(synthesized.stage('Prod').redisStack.artifactId);
    expect(artifact.terminationProtection).toBe(true);
  });
});
