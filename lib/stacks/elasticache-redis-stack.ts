import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';
import { type ElastiCacheEngineConfig, resolveElastiCacheEngine } from '../config/engine';
import { resolveMonitoring } from '../config/monitoring';
import type { StageConfig } from '../config/stage-config';
import { addBackupBuckets, type BackupBuckets } from '../constructs/backup-buckets';
import { AMAZON_ROOT_CAS_PEM } from '../constructs/elasticache/amazon-root-cas';
import { ElastiCacheMonitoring } from '../constructs/elasticache/elasticache-monitoring';
import { ElastiCachePasswordRotation } from '../constructs/elasticache/elasticache-password-rotation';
import { RedisReplicationGroup } from '../constructs/elasticache/redis-replication-group';
import { RedisSeedBucket } from '../constructs/elasticache/redis-seed-bucket';
import { RedisConnectionParameters } from '../constructs/redis-connection-parameters';
import {
  type GrantConnectOptions,
  grantRedisConnect,
  type PublishedRedisEndpoint,
} from '../constructs/redis-consumer';
import { REDIS_TLS_PORT, RedisSecurityGroups } from '../constructs/redis-security-groups';
import { addRestoreLogGroup } from '../constructs/restore-log-group';
import { buildStageFoundation } from './stage-foundation';

export interface ElastiCacheRedisStackProps extends StackProps {
  /** The stage's validated configuration, with `engine.kind` 'elasticache'. */
  readonly config: StageConfig & { readonly engine: ElastiCacheEngineConfig };
}

/**
 * A stage's Redis on ElastiCache (docs/elasticache.md), in the SAME stack (`<Stage>-Redis`) and
 * with the same construct ids as the Fargate stage for everything both have: the key, network,
 * passwords, security groups, backup bucket, seed bucket, alarm topic, dashboard and connection
 * parameters. A stage switching engine keeps them (and its consumers keep their client group,
 * secret and parameter names); the service, file system, SYNC backup function and restore state
 * machine go, and the replication group (`ElastiCache`) comes.
 */
export class ElastiCacheRedisStack extends Stack implements PublishedRedisEndpoint {
  /** The replication group, its users, parameter and subnet groups, log groups. */
  public readonly elastiCache: RedisReplicationGroup;
  /** The bucket the group is seeded from (ops seed-export). */
  public readonly seeds: RedisSeedBucket;
  /** The snapshots of the stage's Fargate days (kept; the way back restores from them). */
  public readonly backupBuckets: BackupBuckets;
  public readonly monitoring: ElastiCacheMonitoring;
  /** ElastiCache's notifications (failover, node replacement, ...): a topic of their own (unencrypted). */
  public readonly eventsTopic: sns.Topic;
  /** Automatic password rotation (app and monitor users), in stages that set passwordRotationDays. */
  public readonly passwordRotation?: ElastiCachePasswordRotation;
  public readonly connectionParameters: RedisConnectionParameters;
  public readonly securityGroups: RedisSecurityGroups;

  // PublishedRedisEndpoint: what consumers connect with (grantConnect, the connection parameters).
  public readonly hostName: string;
  public readonly port = REDIS_TLS_PORT;
  public readonly tlsPort = REDIS_TLS_PORT;
  public readonly tlsMode = 'required' as const;
  public readonly caCertificatePem = AMAZON_ROOT_CAS_PEM;
  public readonly user: string;
  public readonly clientSecurityGroup: ec2.ISecurityGroup;
  public readonly passwordSecret: secretsmanager.ISecret;
  public readonly kmsKey: kms.IKey;
  public readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: ElastiCacheRedisStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.retainData });
    const { config } = props;
    const engine = resolveElastiCacheEngine(config.engine);
    const { key, network, secrets, removalPolicy, logRetention } = buildStageFoundation(this, config);
    this.kmsKey = key;
    this.vpc = network.vpc;
    this.passwordSecret = secrets.password;

    this.securityGroups = new RedisSecurityGroups(this, 'SecurityGroups', {
      vpc: network.vpc,
      clientSecurityGroupIds: config.clientSecurityGroupIds,
      clientCidrs: config.clientCidrs,
      tls: 'required',
    });
    this.clientSecurityGroup = this.securityGroups.clientSecurityGroup;

    // The backup bucket of the stage's Fargate days, at its old path: its snapshots stay listed and
    // restorable (the way back), and a seed can still be exported from them.
    this.backupBuckets = addBackupBuckets(new Construct(this, 'Backup'), {
      kmsKey: key,
      retentionDays: config.backupRetentionDays,
      ...(config.backupColdStorageAfterDays !== undefined && {
        coldStorageAfterDays: config.backupColdStorageAfterDays,
      }),
    });
    // The restore state machine's named log group, kept at its path: a retained stage that switches
    // back to Fargate would otherwise find its name taken by the group the switch left behind.
    addRestoreLogGroup(new Construct(this, 'Restore'), {
      envName: config.envName,
      kmsKey: key,
      logRetention,
      removalPolicy,
    });
    this.seeds = new RedisSeedBucket(this, 'Seeds', {
      envName: config.envName,
      backupBucket: this.backupBuckets.bucket,
      kmsKey: key,
      accessLogsBucket: this.backupBuckets.accessLogs,
    });

    this.elastiCache = new RedisReplicationGroup(this, 'ElastiCache', {
      envName: config.envName,
      engine,
      maxmemoryPolicy: config.maxmemoryPolicy,
      vpc: network.vpc,
      subnets: network.subnets,
      securityGroup: this.securityGroups.redisSecurityGroup,
      kmsKey: key,
      secrets,
      seedBucket: this.seeds.bucket,
      logRetention,
      removalPolicy,
    });
    // The seed's bucket policy (ElastiCache's read access in opt-in regions) before the group.
    this.elastiCache.replicationGroup.node.addDependency(this.seeds.bucket.policy ?? this.seeds.bucket);
    this.hostName = this.elastiCache.hostName;
    this.user = this.elastiCache.applicationUser;

    this.monitoring = new ElastiCacheMonitoring(this, 'Monitoring', {
      envName: config.envName,
      monitoring: resolveMonitoring(config),
      group: this.elastiCache,
      engine,
      vpc: network.vpc,
      subnets: network.subnets,
      functionsSecurityGroup: this.securityGroups.functionsSecurityGroup,
      kmsKey: key,
      monitorSecret: secrets.monitorPassword,
      caCertificatePem: AMAZON_ROOT_CAS_PEM,
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
      logRetention,
      removalPolicy,
    });
    this.eventsTopic = this.elastiCache.addEventsTopic(config.alarmEmail);

    if (config.passwordRotationDays !== undefined) {
      this.passwordRotation = new ElastiCachePasswordRotation(this, 'PasswordRotation', {
        envName: config.envName,
        group: this.elastiCache,
        secrets,
        network,
        functionsSecurityGroup: this.securityGroups.functionsSecurityGroup,
        caCertificatePem: AMAZON_ROOT_CAS_PEM,
        rotationDays: config.passwordRotationDays,
        kmsKey: key,
        logRetention,
        removalPolicy,
      });
    }

    // The same parameters, under the same path, as a Fargate stage: consumers change nothing.
    this.connectionParameters = new RedisConnectionParameters(this, 'ConnectionParameters', {
      redis: this,
      envName: config.envName,
      hostDescription: 'Primary endpoint of the ElastiCache replication group (follows a failover)',
    });

    const outputs: Record<string, { value: string; description: string }> = {
      Engine: { value: 'elasticache', description: 'What runs Redis in this stage (fargate or elasticache)' },
      RedisHost: {
        value: this.hostName,
        description: 'Primary endpoint of the replication group (follows a failover)',
      },
      RedisReaderHost: {
        value: this.elastiCache.readerHostName,
        description: 'Reader endpoint (the replicas; read-only)',
      },
      RedisPort: { value: String(this.port), description: 'Redis port (TLS only)' },
      RedisUser: {
        value: this.user,
        description: 'ACL user of the application (its password: RedisPasswordSecretArn)',
      },
      ReplicationGroupId: {
        value: this.elastiCache.replicationGroup.ref,
        description: 'ElastiCache replication group (aws elasticache describe-replication-groups)',
      },
      ClientSecurityGroupId: {
        value: this.clientSecurityGroup.securityGroupId,
        description: 'Security group a consumer joins to reach Redis on RedisPort',
      },
      RedisPasswordSecretArn: {
        value: secrets.password.secretArn,
        description: 'Secret holding REDIS_PASSWORD (the app user), for CELERY_BROKER_URL',
      },
      MonitorPasswordSecretArn: {
        value: secrets.monitorPassword.secretArn,
        description: 'Secret holding the monitor user password',
      },
      KmsKeyArn: {
        value: key.keyArn,
        description: 'KMS key of the secrets (consumers in another app need kms:Decrypt on it)',
      },
      BackupBucketName: {
        value: this.backupBuckets.bucket.bucketName,
        description: "S3 bucket of the stage's Fargate-era snapshots (and of exported ElastiCache snapshots)",
      },
      SnapshotPrefix: {
        value: `${DEFAULT_SNAPSHOT_PREFIX}/${config.envName}/`,
        description: 'Key prefix of the snapshots',
      },
      SeedBucketName: {
        value: this.seeds.bucket.bucketName,
        description: 'Bucket the group is seeded from (npm run -s ops -- seed-export)',
      },
      SeedExportPolicyArn: {
        value: this.seeds.exportPolicy.managedPolicyArn,
        description: 'Managed policy an operator needs for ops seed-export',
      },
      AlarmTopicArn: {
        value: this.monitoring.topic.topicArn,
        description: 'SNS topic of every alarm of this stage (ALARM and OK); subscribe on-call here',
      },
      ElastiCacheEventsTopicArn: {
        value: this.eventsTopic.topicArn,
        description:
          "SNS topic of ElastiCache's notifications (failover, node replacement); subscribe on-call here too",
      },
      DashboardName: {
        value: this.monitoring.dashboard.dashboardName,
        description: 'CloudWatch dashboard of this stage',
      },
      MetricsFunctionName: {
        value: this.monitoring.function.function.functionName,
        description: 'Metrics function (Celery queue depths; its log says why Redis could not be sampled)',
      },
      EngineLogGroupName: {
        value: this.elastiCache.engineLogGroup.logGroupName,
        description: "ElastiCache's engine log",
      },
      SlowLogGroupName: {
        value: this.elastiCache.slowLogGroup.logGroupName,
        description: "ElastiCache's slow log",
      },
    };
    if (this.passwordRotation) {
      outputs.RotationFunctionName = {
        value: this.passwordRotation.rotationFunction.function.functionName,
        description:
          'Rotates the Redis passwords of the app and monitor users (docs/runbook/rotate-password.md)',
      };
    }
    for (const [outputId, output] of Object.entries(outputs)) new CfnOutput(this, outputId, output);
  }

  /** Lets an ECS service use Redis (client group, REDIS_HOST/PORT/USER/TLS_CA, the password). */
  public grantConnect(consumer: ecs.BaseService, options: GrantConnectOptions = {}): void {
    grantRedisConnect(this, consumer, options);
  }
}
