import * as path from 'node:path';
import { Duration, type RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as efs from 'aws-cdk-lib/aws-efs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct, type IDependable } from 'constructs';
import { DEFAULT_TLS_MODE, type EvictionPolicy, type TlsMode } from '../config/stage-config';
import { warnIfEvicting } from './eviction-warning';
import { acknowledgeWildcardResource } from './nag';
import { APPLICATION_USER } from './redis-connection-contract';
import { type GrantConnectOptions, grantRedisConnect, type PublishedRedisEndpoint } from './redis-consumer';
import type { RedisDiscovery } from './redis-discovery';
import type { RedisSecrets } from './redis-secrets';
import { consumerPort, REDIS_TLS_PORT, type RedisSecurityGroups, redisPorts } from './redis-security-groups';
import { REDIS_GID, REDIS_UID, type RedisStorage } from './redis-storage';
import { RedisTls } from './redis-tls';

/** The project's Redis image (Dockerfile, redis.conf, entrypoint, health check). */
export const REDIS_IMAGE_DIRECTORY = path.join(__dirname, '..', '..', 'docker', 'redis');

/** Name of the Redis container (for `aws ecs execute-command --container`). */
export const REDIS_CONTAINER_NAME = 'redis';

/** Id of the warning emitted when the eviction policy can evict Celery's keys. */
export { EVICTION_WARNING_ID } from './eviction-warning';

export interface RedisServiceProps {
  /** Lower-case stage name (`dev`, `staging`, `prod`). */
  readonly envName: string;
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the task (private, no public IP). */
  readonly subnets: ec2.SubnetSelection;
  /**
   * The VPC endpoints the task starts through (ECR, S3, Logs, Secrets Manager...), none for an
   * imported VPC that brings its own: the service is created after them.
   */
  readonly endpoints: readonly IDependable[];
  /** The stage's KMS key (log groups, ECS Exec sessions). */
  readonly kmsKey: kms.IKey;
  /** The three passwords, injected as ECS secrets. */
  readonly secrets: RedisSecrets;
  /** The EFS file system and access point mounted at /data. */
  readonly storage: RedisStorage;
  /** The task's, the clients' and the functions' security groups. */
  readonly securityGroups: RedisSecurityGroups;
  /** The Cloud Map namespace Redis registers in. */
  readonly discovery: RedisDiscovery;
  /** Fargate CPU units (validated against `taskMemoryMiB`). */
  readonly taskCpu: number;
  /** Fargate memory in MiB. */
  readonly taskMemoryMiB: number;
  /** REDIS_MAXMEMORY, e.g. `512mb`. */
  readonly maxmemory: string;
  /** REDIS_MAXMEMORY_POLICY. */
  readonly maxmemoryPolicy: EvictionPolicy;
  /**
   * TLS: `off`, `transitional` (6379 plaintext and 6380 TLS) or `required` (6380 only). With TLS
   * on, the stage's CA and Redis's certificate come from `RedisTls` (made here).
   * @default 'required' (DEFAULT_TLS_MODE)
   */
  readonly tls?: TlsMode;
  /** Retention of the Redis and ECS Exec audit log groups. */
  readonly logRetention: logs.RetentionDays;
  /** DESTROY or RETAIN for the log groups. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Directory of the image to build.
   * @default the project's docker/redis
   */
  readonly imageDirectory?: string;
}

/**
 * Writable, task-scoped folders beside a read-only root: ECS Exec's agent (its binaries' mount point,
 * state and logs), and /tmp.
 * Fargate keeps them on the task's ephemeral storage; they vanish with the task.
 */
const SCRATCH_VOLUMES: ReadonlyArray<readonly [string, string]> = [
  ['exec-managed-agents', '/managed-agents'],
  ['exec-agent-state', '/var/lib/amazon'],
  ['exec-agent-logs', '/var/log/amazon'],
  ['tmp', '/tmp'],
  // This start's TLS files and health check password (the image's /run/redis, owned by redis).
  ['runtime', '/run/redis'],
];

/**
 * Redis 7 on ECS Fargate: exactly one task, built from docker/redis, with its data on EFS.
 *
 * - Deployments never run two Redis processes on the same data: one task (created with 1, never reset
 *   by a deploy, so a restore's scale-to-0 holds), minimum healthy 0%,
 *   maximum 100% (the old task stops before the new one starts; Redis takes no lock on its data
 *   directory and two writers corrupt the AOF), AZ rebalancing off, circuit breaker with rollback.
 * - The spec's health check (30 s / 10 s / 5 s / 3), a 120 s stop timeout (Fargate's maximum) so
 *   Redis can fsync and save on SIGTERM, an init process that forwards signals.
 * - Passwords come from Secrets Manager as ECS `secrets`; only non-secret settings are plain env.
 * - ECS Exec is on, its sessions KMS-encrypted and logged to an encrypted audit log group.
 * - Registered in Cloud Map: clients use `hostName`:`port`.
 *
 * Later constructs (backup, monitoring, restore) get everything they need from the public fields.
 */
export class RedisService extends Construct implements PublishedRedisEndpoint {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** Subnets of the task; the project's functions use the same. */
  public readonly subnets: ec2.SubnetSelection;
  /** The ECS cluster. */
  public readonly cluster: ecs.Cluster;
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The Redis container. */
  public readonly container: ecs.ContainerDefinition;
  /** The file system mounted at /data. */
  public readonly fileSystem: efs.FileSystem;
  /** The access point Redis mounts (uid 999, gid 1000, /redis). */
  public readonly accessPoint: efs.AccessPoint;
  /** The file system's security group (admit a restore function on 2049). */
  public readonly fileSystemSecurityGroup: ec2.SecurityGroup;
  /** The three password secrets. */
  public readonly secrets: RedisSecrets;
  /** REDIS_PASSWORD's secret (the `default` user), what consumers read. */
  public readonly passwordSecret: secretsmanager.ISecret;
  /** The Redis task's security group. */
  public readonly redisSecurityGroup: ec2.SecurityGroup;
  /** Consumers join this group to reach Redis on `port`. */
  public readonly clientSecurityGroup: ec2.SecurityGroup;
  /** The project's backup/metrics functions join this group (admitted on Redis's ports). */
  public readonly functionsSecurityGroup: ec2.SecurityGroup;
  /** The stage's KMS key. */
  public readonly kmsKey: kms.IKey;
  /** Redis's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The ECS Exec session audit log group. */
  public readonly execLogGroup: logs.LogGroup;
  /** The Cloud Map service Redis is registered in. */
  public readonly cloudMapService: servicediscovery.IService;
  /** Private DNS name of Redis, `redis.<namespace>`. */
  /** The application's ACL user, `default` (the container's; what Celery uses). */
  public readonly user = APPLICATION_USER;
  public readonly hostName: string;
  /** The port of a client following the stage's mode: 6379 until `required`, then 6380 (`consumerPort`). */
  public readonly port: number;
  /** The TLS port, 6380, whenever Redis serves TLS: what the project's own functions use. */
  public readonly tlsPort?: number;
  /** The stage's TLS mode. */
  public readonly tlsMode: TlsMode;
  /** The stage's CA and Redis's certificate; undefined when TLS is off. */
  public readonly tls?: RedisTls;
  /** The CA certificate (PEM) clients verify Redis with; undefined when TLS is off. */
  public readonly caCertificatePem?: string;

  constructor(scope: Construct, id: string, props: RedisServiceProps) {
    super(scope, id);
    this.vpc = props.vpc;
    this.subnets = props.subnets;
    this.kmsKey = props.kmsKey;
    this.secrets = props.secrets;
    this.passwordSecret = props.secrets.password;
    this.fileSystem = props.storage.fileSystem;
    this.accessPoint = props.storage.accessPoint;
    this.fileSystemSecurityGroup = props.storage.securityGroup;
    this.redisSecurityGroup = props.securityGroups.redisSecurityGroup;
    this.clientSecurityGroup = props.securityGroups.clientSecurityGroup;
    this.functionsSecurityGroup = props.securityGroups.functionsSecurityGroup;
    this.hostName = props.discovery.hostName;
    this.tlsMode = props.tls ?? DEFAULT_TLS_MODE;
    this.port = consumerPort(this.tlsMode);
    if (this.tlsMode !== 'off') this.tlsPort = REDIS_TLS_PORT;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.kmsKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.execLogGroup = new logs.LogGroup(this, 'ExecAuditLogs', {
      encryptionKey: props.kmsKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENHANCED,
      executeCommandConfiguration: {
        kmsKey: props.kmsKey,
        logging: ecs.ExecuteCommandLogging.OVERRIDE,
        logConfiguration: { cloudWatchLogGroup: this.execLogGroup, cloudWatchEncryptionEnabled: true },
      },
    });

    if (this.tlsMode !== 'off') {
      this.tls = new RedisTls(this, 'Tls', {
        envName: props.envName,
        // localhost and 127.0.0.1 (in the function): the container's health check connects there.
        dnsNames: [this.hostName, 'localhost'],
        cluster: this.cluster,
        kmsKey: props.kmsKey,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
      this.caCertificatePem = this.tls.caCertificatePem;
    }
    const serverSecret = this.tls?.serverSecret;

    const volumeName = 'data';
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.taskCpu,
      memoryLimitMiB: props.taskMemoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [
        {
          name: volumeName,
          efsVolumeConfiguration: {
            fileSystemId: this.fileSystem.fileSystemId,
            transitEncryption: 'ENABLED',
            authorizationConfig: { accessPointId: this.accessPoint.accessPointId, iam: 'ENABLED' },
          },
        },
      ],
    });
    props.storage.grantReadWrite(this.taskDefinition.taskRole);

    this.container = this.taskDefinition.addContainer('Redis', {
      containerName: REDIS_CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(props.imageDirectory ?? REDIS_IMAGE_DIRECTORY, {
        platform: Platform.LINUX_AMD64,
      }),
      essential: true,
      // The image's redis user; the access point maps every request to it as well.
      user: `${REDIS_UID}:${REDIS_GID}`,
      portMappings: redisPorts(this.tlsMode).map((port) => ({
        containerPort: port,
        protocol: ecs.Protocol.TCP,
        name: port === REDIS_TLS_PORT ? 'redis-tls' : 'redis',
      })),
      // Not secret: the entrypoint's settings. Every AWS stage is "production": the entrypoint then
      // refuses to start without strong passwords.
      environment: {
        REDIS_ENV: 'production',
        REDIS_MAXMEMORY: props.maxmemory,
        REDIS_MAXMEMORY_POLICY: props.maxmemoryPolicy,
        ...(this.tlsMode !== 'off' && { REDIS_TLS: this.tlsMode, REDIS_TLS_PORT: String(REDIS_TLS_PORT) }),
      },
      secrets: {
        REDIS_PASSWORD: ecs.Secret.fromSecretsManager(props.secrets.password),
        REDIS_BACKUP_PASSWORD: ecs.Secret.fromSecretsManager(props.secrets.backupPassword),
        REDIS_MONITOR_PASSWORD: ecs.Secret.fromSecretsManager(props.secrets.monitorPassword),
        // The certificate, its key and the CA: JSON fields of the server secret (RedisTls).
        ...(serverSecret && {
          REDIS_TLS_CERT: ecs.Secret.fromSecretsManager(serverSecret, 'certificate'),
          REDIS_TLS_KEY: ecs.Secret.fromSecretsManager(serverSecret, 'privateKey'),
          REDIS_TLS_CA: ecs.Secret.fromSecretsManager(serverSecret, 'ca'),
        }),
      },
      healthCheck: {
        command: ['CMD', '/usr/local/bin/redis-healthcheck'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        startPeriod: Duration.seconds(5),
        retries: 3,
      },
      stopTimeout: Duration.seconds(120),
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      // Nothing in the image can be changed at run time: Redis writes only to /data. ECS Exec's agent
      // writes its state and logs inside the container, so those folders (and /tmp, for the shell an
      // operator opens) are task-scoped scratch volumes (the workaround of aws/containers-roadmap#1359).
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'redis',
        // A slow CloudWatch Logs must never block Redis's writes to stdout.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });
    this.container.addMountPoints({ containerPath: '/data', sourceVolume: volumeName, readOnly: false });
    for (const [name, containerPath] of SCRATCH_VOLUMES) {
      this.taskDefinition.addVolume({ name });
      this.container.addMountPoints({ containerPath, sourceVolume: name, readOnly: false });
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The plain environment holds only non-secret settings (REDIS_ENV, REDIS_MAXMEMORY, REDIS_MAXMEMORY_POLICY, ' +
        'REDIS_TLS, REDIS_TLS_PORT); the three passwords and the TLS certificate and key are injected from Secrets ' +
        'Manager as ECS secrets.',
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // No desiredCount: CloudFormation then creates the service with ONE task and never sets the
      // count again on later updates. With `desiredCount: 1` every deploy that touches the service
      // would reset it to 1, e.g. in the middle of a restore that scaled Redis to 0 on purpose.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.DISABLED,
      // 1.4.0 is the first platform version with EFS volumes.
      platformVersion: ecs.FargatePlatformVersion.VERSION1_4,
      assignPublicIp: false,
      vpcSubnets: props.subnets,
      securityGroups: [this.redisSecurityGroup],
      enableExecuteCommand: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      cloudMapOptions: {
        cloudMapNamespace: props.discovery.namespace,
        name: props.discovery.serviceName,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        // Short, so clients find the replacement task soon after a deployment or a task failure.
        dnsTtl: Duration.seconds(10),
      },
    });
    this.acknowledgeEcsRequirements();

    // Start Redis only when the mount targets are usable, or the first task fails to mount /data.
    this.service.node.addDependency(this.fileSystem.mountTargetsAvailable);
    // ...and when what the first task pulls its image, secrets and logs through exists: in isolated
    // subnets a task started before the VPC endpoints (or before its execution role may read the
    // secrets) fails with ResourceInitializationError, the circuit breaker rolls back and the
    // stack's creation can fail (aws/aws-cdk#20548).
    this.service.node.addDependency(...props.endpoints);
    // ...and, with TLS, when its certificate has been issued into the secret it reads at start.
    if (this.tls) this.service.node.addDependency(this.tls.issued);
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) this.service.node.addDependency(executionPolicy);
    const cloudMapService = this.service.cloudMapService;
    if (!cloudMapService) throw new Error('RedisService: the Fargate service has no Cloud Map service');
    this.cloudMapService = cloudMapService;

    warnIfEvicting(this, props.envName, props.maxmemoryPolicy, 'size maxmemory');
  }

  /**
   * cdk-nag AwsSolutions-IAM5 findings that come from what ECS itself requires, each acknowledged
   * on the one role it is about. (Called after the service exists: ECS Exec adds its grants then.)
   */
  private acknowledgeEcsRequirements(): void {
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken, which the execution role needs to pull the image, has no resource-level ' +
        'permissions (the pull actions themselves are scoped to the CDK asset repository).',
    });
    Validations.of(this.taskDefinition.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ECS Exec: ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel and ' +
        'logs:DescribeLogGroups have no resource-level permissions (AWS ECS Exec documentation).',
    });
    acknowledgeWildcardResource(
      this.taskDefinition.taskRole,
      `arn:${Stack.of(this).partition}:logs:${Stack.of(this).region}:${Stack.of(this).account}:log-group:${this.execLogGroup.logGroupName}:*`,
      'ECS Exec writes session transcripts to log streams it creates at run time in the audit log group; the ' +
        'wildcard covers only the streams of that one log group.',
    );
  }

  /**
   * Lets an ECS service of the email platform use Redis: it joins `clientSecurityGroup`, its
   * container gets REDIS_PASSWORD (ECS secret), REDIS_HOST and REDIS_PORT, and with TLS
   * REDIS_TLS_PORT and REDIS_TLS_CA. See `grantRedisConnect`.
   */
  public grantConnect(consumer: ecs.BaseService, options: GrantConnectOptions = {}): void {
    grantRedisConnect(this, consumer, options);
  }
}
