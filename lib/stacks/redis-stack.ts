import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { engineOf } from '../config/engine';
import { resolveMonitoring } from '../config/monitoring';
import type { StageConfig } from '../config/stage-config';
import { DEFAULT_TLS_MODE } from '../config/stage-config';
import { backupScheduleExpression } from '../config/validate';
import { RedisSeedBucket } from '../constructs/elasticache/redis-seed-bucket';
import { RedisBackup } from '../constructs/redis-backup';
import { RedisConnectionParameters } from '../constructs/redis-connection-parameters';
import { RedisDiscovery } from '../constructs/redis-discovery';
import { RedisMonitoring } from '../constructs/redis-monitoring';
import { RedisPasswordRotation } from '../constructs/redis-password-rotation';
import { RedisRestore } from '../constructs/redis-restore';
import { RedisSecurityGroups } from '../constructs/redis-security-groups';
import { RedisService } from '../constructs/redis-service';
import { RedisStorage } from '../constructs/redis-storage';
import { buildStageFoundation } from './stage-foundation';

export interface RedisStackProps extends StackProps {
  /** The stage's validated configuration. */
  readonly config: StageConfig;
}

/**
 * Everything of one stage's Redis in ONE stack: network, key, secrets, storage, security groups,
 * discovery and the service. One stack, because the stateful resources (file system, key, secrets)
 * and what uses them would otherwise be tied together by cross-stack exports, which CloudFormation
 * refuses to change while they are imported, and that blocks later refactors. Later issues add their
 * Backup and Monitoring constructs here, next to `redis`.
 *
 * Construct ids are part of the logical ids of the stateful resources: renaming `Key`, `Secrets`,
 * `Storage` (or their children) REPLACES them (new key, new passwords, new EMPTY file system).
 * test/lib/logical-ids.test.ts pins them.
 */
export class RedisStack extends Stack {
  /** The Redis service and everything it exposes to later constructs. */
  public readonly redis: RedisService;
  /** Scheduled backups to S3. */
  public readonly backup: RedisBackup;
  /** Metrics function, alarms, the alarm topic and the dashboard. */
  public readonly monitoring: RedisMonitoring;
  /** Restore from a snapshot: the Step Functions state machine and its functions. */
  public readonly restore: RedisRestore;
  /** The connection facts for consumers in other apps, as SSM parameters (docs/consumer-contract.md). */
  public readonly connectionParameters: RedisConnectionParameters;
  /** The seed bucket for a switch to ElastiCache, when `engine.seedBucket` is set. */
  public readonly seeds?: RedisSeedBucket;
  /** Automatic password rotation, in stages that set passwordRotationDays. */
  public readonly passwordRotation?: RedisPasswordRotation;

  constructor(scope: Construct, id: string, props: RedisStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.retainData });
    const { config } = props;
    const { key, network, secrets, removalPolicy, logRetention } = buildStageFoundation(this, config);
    const storage = new RedisStorage(this, 'Storage', {
      vpc: network.vpc,
      subnets: network.subnets,
      kmsKey: key,
      removalPolicy,
    });
    const securityGroups = new RedisSecurityGroups(this, 'SecurityGroups', {
      vpc: network.vpc,
      fileSystemSecurityGroup: storage.securityGroup,
      clientSecurityGroupIds: config.clientSecurityGroupIds,
      clientCidrs: config.clientCidrs,
      tls: config.tls ?? DEFAULT_TLS_MODE,
    });
    const discovery = new RedisDiscovery(this, 'Discovery', {
      vpc: network.vpc,
      namespaceName: config.dnsNamespace,
    });
    this.redis = new RedisService(this, 'Redis', {
      envName: config.envName,
      vpc: network.vpc,
      subnets: network.subnets,
      endpoints: network.endpoints,
      kmsKey: key,
      secrets,
      storage,
      securityGroups,
      discovery,
      taskCpu: config.taskCpu,
      taskMemoryMiB: config.taskMemoryMiB,
      maxmemory: config.maxmemory,
      maxmemoryPolicy: config.maxmemoryPolicy,
      tls: config.tls ?? DEFAULT_TLS_MODE,
      logRetention,
      removalPolicy,
    });

    if (config.passwordRotationDays !== undefined) {
      this.passwordRotation = new RedisPasswordRotation(this, 'PasswordRotation', {
        redis: this.redis,
        envName: config.envName,
        rotationDays: config.passwordRotationDays,
        endpoints: network.endpoints,
        kmsKey: key,
        logRetention,
        removalPolicy,
      });
    }

    this.backup = new RedisBackup(this, 'Backup', {
      redis: this.redis,
      envName: config.envName,
      schedule: backupScheduleExpression(config),
      retentionDays: config.backupRetentionDays,
      ...(config.backupColdStorageAfterDays !== undefined && {
        coldStorageAfterDays: config.backupColdStorageAfterDays,
      }),
      logRetention,
      removalPolicy,
    });
    network.allowS3Buckets([this.backup.bucket]);

    // Step 1 of a switch to ElastiCache: the bucket ops seed-export copies a verified snapshot to.
    const engine = engineOf(config);
    if (engine.kind !== 'fargate') {
      throw new Error(
        `${this.node.path}: RedisStack runs the Fargate engine; this stage's engine is ${engine.kind}`,
      );
    }
    if (engine.seedBucket === true) {
      this.seeds = new RedisSeedBucket(this, 'Seeds', {
        envName: config.envName,
        backupBucket: this.backup.bucket,
        kmsKey: key,
        accessLogsBucket: this.backup.accessLogsBucket,
      });
    }

    this.restore = new RedisRestore(this, 'Restore', {
      redis: this.redis,
      backup: this.backup,
      envName: config.envName,
      logRetention,
      removalPolicy,
    });

    this.monitoring = new RedisMonitoring(this, 'Monitoring', {
      redis: this.redis,
      envName: config.envName,
      monitoring: resolveMonitoring(config),
      backupIntervalHours: config.backupIntervalHours,
      backups: {
        bucket: this.backup.bucket,
        snapshotPrefix: this.backup.snapshotPrefix,
        function: this.backup.function.function,
      },
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
      logRetention,
      removalPolicy,
    });

    // What consumers in other apps and repositories read: the same facts under one SSM path per stage.
    this.connectionParameters = new RedisConnectionParameters(this, 'ConnectionParameters', {
      redis: this.redis,
      envName: config.envName,
    });

    // What consumers and operators need. Secret ARNs only, never a secret value.
    const outputs: Record<string, { value: string; description: string }> = {
      RedisHost: { value: this.redis.hostName, description: 'Private DNS name of Redis (Cloud Map)' },
      RedisPort: { value: String(this.redis.port), description: 'Redis port' },
      ClientSecurityGroupId: {
        value: this.redis.clientSecurityGroup.securityGroupId,
        description: 'Security group a consumer joins to reach Redis on its ports (RedisPort; 6380 with TLS)',
      },
      RedisPasswordSecretArn: {
        value: secrets.password.secretArn,
        description: 'Secret holding REDIS_PASSWORD (default user), for CELERY_BROKER_URL',
      },
      BackupPasswordSecretArn: {
        value: secrets.backupPassword.secretArn,
        description: 'Secret holding REDIS_BACKUP_PASSWORD (backup ACL user)',
      },
      MonitorPasswordSecretArn: {
        value: secrets.monitorPassword.secretArn,
        description: 'Secret holding REDIS_MONITOR_PASSWORD (monitor ACL user)',
      },
      KmsKeyArn: {
        value: key.keyArn,
        description: 'KMS key of the secrets (consumers in another app need kms:Decrypt on it)',
      },
      BackupBucketName: { value: this.backup.bucket.bucketName, description: 'S3 bucket of the snapshots' },
      RestoreStateMachineArn: {
        value: this.restore.stateMachine.stateMachineArn,
        description: 'Restore state machine (npm run -s ops -- restore --stage <stage> --snapshot <key>)',
      },
      RestoreFunctionName: {
        value: this.restore.restoreFunction.function.functionName,
        description: 'Restore function (undo a restore by hand: docs/runbook/undo-restore.md)',
      },
      BackupFunctionName: {
        value: this.backup.function.function.functionName,
        description: 'Backup function (aws lambda invoke to back up now)',
      },
      AlarmTopicArn: {
        value: this.monitoring.topic.topicArn,
        description: 'SNS topic of every alarm of this stage (ALARM and OK); subscribe on-call here',
      },
      DashboardName: {
        value: this.monitoring.dashboard.dashboardName,
        description: 'CloudWatch dashboard of this stage',
      },
      MetricsFunctionName: {
        value: this.monitoring.function.function.functionName,
        description: 'Metrics function (its log says why Redis could not be sampled, and why a task stopped)',
      },
      ...(this.redis.tls && {
        TlsCertificateFunctionName: {
          value: this.redis.tls.certificateFunction.function.functionName,
          description:
            "Issues and renews Redis's TLS certificate (docs/runbook/alarms.md, tls-certificate-expiring)",
        },
      }),
      ...(this.passwordRotation && {
        RotationFunctionName: {
          value: this.passwordRotation.rotationFunction.function.functionName,
          description: 'Rotates the Redis passwords (docs/runbook/rotate-password.md)',
        },
      }),
      ...(this.seeds && {
        SeedBucketName: {
          value: this.seeds.bucket.bucketName,
          description:
            'Bucket ops seed-export copies a verified snapshot to, to seed ElastiCache (docs/elasticache.md)',
        },
        SeedExportPolicyArn: {
          value: this.seeds.exportPolicy.managedPolicyArn,
          description: 'Managed policy an operator needs for ops seed-export',
        },
      }),
      ClusterName: { value: this.redis.cluster.clusterName, description: 'ECS cluster (for ECS Exec)' },
      ServiceName: { value: this.redis.service.serviceName, description: 'ECS service (for ECS Exec)' },
      LogGroupName: {
        value: this.redis.logGroup.logGroupName,
        description: "Redis's log group (aws logs tail)",
      },
      ExecAuditLogGroupName: {
        value: this.redis.execLogGroup.logGroupName,
        description: 'ECS Exec session transcripts (audit)',
      },
    };
    for (const [outputId, output] of Object.entries(outputs)) new CfnOutput(this, outputId, output);
  }
}
