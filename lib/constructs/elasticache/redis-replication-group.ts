import { Annotations, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { ResolvedElastiCacheEngine } from '../../config/engine';
import type { EvictionPolicy } from '../../config/stage-config';
import { warnIfEvicting } from '../eviction-warning';
import type { RedisSecrets } from '../redis-secrets';
import { PASSWORD_LENGTH } from '../redis-secrets';
import { REDIS_TLS_PORT } from '../redis-security-groups';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  ELASTICACHE_APPLICATION_USER,
  ELASTICACHE_MONITOR_USER,
  MONITOR_ACCESS_STRING,
} from './access-strings';

/** Id of the synth warning that a seeded group is replaced when its seed changes. */
export const SEED_REPLACEMENT_WARNING_ID = 'emailclient:redis-elasticache-seed-replaces-group';

/** Parameter group family of each engine's major version. */
const PARAMETER_GROUP_FAMILY: Readonly<Record<string, string>> = {
  'valkey:8': 'valkey8',
  'redis:7': 'redis7',
};

export interface RedisReplicationGroupProps {
  /** Lower-case stage name: in the user ids, descriptions and log group names. */
  readonly envName: string;
  /** The validated engine settings, defaults filled in. */
  readonly engine: ResolvedElastiCacheEngine;
  /** `maxmemory-policy` of the parameter group (the stage's maxmemoryPolicy). */
  readonly maxmemoryPolicy: EvictionPolicy;
  readonly vpc: ec2.IVpc;
  /** The stage's private subnets: the subnet group, one node per AZ. */
  readonly subnets: ec2.SubnetSelection;
  /** The Redis security group of the stage (admits the client and functions groups on 6380). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Encrypts the data at rest, the snapshots and the log groups. */
  readonly kmsKey: kms.IKey;
  /** The stage's passwords: the application user's and the monitor user's. */
  readonly secrets: RedisSecrets;
  /** Where `engine.seed` lives (the stage's seed bucket). Required when a seed is configured. */
  readonly seedBucket?: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
  /** DESTROY (dev) or RETAIN: a retained stage's group is SNAPSHOT on deletion and replacement. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A stage's Redis on ElastiCache: one replication group, cluster mode disabled (Celery cannot use a
 * cluster), Valkey 8 by default.
 *
 * - Nodes: `replicas + 1` of the configured type in the stage's private subnets; with a replica,
 *   Multi-AZ with automatic failover (the primary endpoint moves in seconds).
 * - Security: TLS required on 6380 (the port Fargate stages serve TLS on, so the security groups and
 *   the consumers' port stay the same), at-rest encryption with the stage key, the stage's Redis
 *   security group, RBAC users (a `default` that can do nothing, `app`, `monitor`) whose passwords
 *   are the stage's secrets, referenced dynamically (never in the template).
 * - A parameter group with the stage's maxmemory-policy and the spec's maxmemory-samples.
 * - Automatic daily snapshots; engine and slow logs to CloudWatch Logs (KMS-encrypted).
 * - A retained stage's group takes a final snapshot when it is deleted or replaced.
 */
export class RedisReplicationGroup extends Construct {
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  public readonly userGroup: elasticache.CfnUserGroup;
  /** The primary endpoint's DNS name (what clients connect to; it follows a failover). */
  public readonly hostName: string;
  /** The reader endpoint's DNS name (the replicas). */
  public readonly readerHostName: string;
  /** 6380, TLS only. */
  public readonly port: number;
  /** The ids of the group's nodes, `<group id>-001`... (the CacheClusterId metric dimension). */
  public readonly nodeIds: string[];
  public readonly engineLogGroup: logs.LogGroup;
  public readonly slowLogGroup: logs.LogGroup;
  /** The application user's name (`app`), published as the `user` connection parameter. */
  public readonly applicationUser = ELASTICACHE_APPLICATION_USER;
  /** The ElastiCache user ids (`emailclient-<env>-app`, `-monitor`): what ModifyUser names. */
  public readonly userIds: { readonly application: string; readonly monitor: string };

  constructor(scope: Construct, id: string, props: RedisReplicationGroupProps) {
    super(scope, id);
    const { engine, envName, secrets } = props;
    const stack = Stack.of(this);
    const multiAz = engine.replicas >= 1;
    this.port = REDIS_TLS_PORT;

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `Redis (${envName}): the stage's private subnets`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    const family = PARAMETER_GROUP_FAMILY[`${engine.engine}:${engine.engineVersion.split('.')[0]}`];
    if (family === undefined)
      throw new Error(`no parameter group family for ${engine.engine} ${engine.engineVersion}`);
    const parameterGroup = new elasticache.CfnParameterGroup(this, 'ParameterGroup', {
      cacheParameterGroupFamily: family,
      description: `Redis (${envName}): eviction as configured, cluster mode off`,
      properties: {
        'maxmemory-policy': props.maxmemoryPolicy,
        // The spec's "5 samples for eviction decision".
        'maxmemory-samples': '5',
        'cluster-enabled': 'no',
      },
    });

    // --- Users (RBAC) --------------------------------------------------------------------------
    const userEngine = engine.engine;
    const password = (secret: secretsmanager.ISecret): string => secret.secretValue.unsafeUnwrap();
    // Every user group must hold a user named `default`: this one is off and may run nothing. Its
    // password (ElastiCache requires one for Valkey users) is never read by anyone.
    const disabledDefaultPassword = new secretsmanager.Secret(this, 'DisabledDefaultUserPassword', {
      description: `Redis (${envName}): password of the switched-off ElastiCache default user (never used)`,
      encryptionKey: props.kmsKey,
      removalPolicy:
        props.removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      generateSecretString: {
        passwordLength: PASSWORD_LENGTH,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(disabledDefaultPassword).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The ElastiCache default user is switched off ('off -@all'): its password opens nothing, so rotating it protects nothing.",
    });
    const user = (
      constructId: string,
      userName: string,
      accessString: string,
      secret: secretsmanager.ISecret,
    ): elasticache.CfnUser =>
      new elasticache.CfnUser(this, constructId, {
        userId: `emailclient-${envName}-${userName}`,
        userName,
        engine: userEngine,
        accessString,
        passwords: [password(secret)],
      });
    const defaultUser = user(
      'DefaultUser',
      'default',
      DISABLED_DEFAULT_ACCESS_STRING,
      disabledDefaultPassword,
    );
    const appUser = user(
      'ApplicationUser',
      ELASTICACHE_APPLICATION_USER,
      APPLICATION_ACCESS_STRING,
      secrets.password,
    );
    const monitorUser = user(
      'MonitorUser',
      ELASTICACHE_MONITOR_USER,
      MONITOR_ACCESS_STRING,
      secrets.monitorPassword,
    );
    this.userIds = { application: appUser.userId, monitor: monitorUser.userId };
    this.userGroup = new elasticache.CfnUserGroup(this, 'UserGroup', {
      userGroupId: `emailclient-${envName}-redis`,
      engine: userEngine,
      userIds: [defaultUser.ref, appUser.ref, monitorUser.ref],
    });

    // --- Logs ----------------------------------------------------------------------------------
    const logGroup = (constructId: string): logs.LogGroup =>
      new logs.LogGroup(this, constructId, {
        // Unnamed (CloudFormation names it; outputs EngineLogGroupName and SlowLogGroupName): a kept
        // group with a fixed name would block the next switch to ElastiCache ("already exists").
        retention: props.logRetention,
        encryptionKey: props.kmsKey,
        removalPolicy: props.removalPolicy,
      });
    this.engineLogGroup = logGroup('EngineLog');
    this.slowLogGroup = logGroup('SlowLog');
    const delivery = (logType: string, group: logs.ILogGroup) => ({
      destinationType: 'cloudwatch-logs',
      destinationDetails: { cloudWatchLogsDetails: { logGroup: group.logGroupName } },
      logFormat: 'json',
      logType,
    });

    // --- The replication group -----------------------------------------------------------------
    const seedArns =
      engine.seed === undefined
        ? undefined
        : [seedArn(stack, requireSeedBucket(props.seedBucket), engine.seed)];
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `Redis (${envName}): cache, Celery broker and result backend`,
      engine: engine.engine,
      engineVersion: engine.engineVersion,
      cacheNodeType: engine.nodeType,
      numCacheClusters: engine.replicas + 1,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: this.port,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      cacheParameterGroupName: parameterGroup.ref,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      kmsKeyId: props.kmsKey.keyArn,
      userGroupIds: [this.userGroup.ref],
      snapshotRetentionLimit: engine.snapshotRetentionDays,
      snapshotWindow: engine.snapshotWindow,
      preferredMaintenanceWindow: engine.maintenanceWindow,
      autoMinorVersionUpgrade: true,
      ...(seedArns && { snapshotArns: seedArns }),
      logDeliveryConfigurations: [
        delivery('engine-log', this.engineLogGroup),
        delivery('slow-log', this.slowLogGroup),
      ],
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        "Authentication is RBAC (UserGroupIds: a switched-off default user, 'app' and 'monitor' with their own passwords), " +
        'which ElastiCache does not allow together with the single shared AuthToken this rule looks for.',
    });
    if (!multiAz) {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason:
          'This stage has no replica (engine.replicas 0), which the configuration allows only for a stage that keeps no data ' +
          '(validateEngine: a retained stage needs at least 1 replica, hence Multi-AZ with automatic failover).',
      });
    }
    // A retained stage: a final snapshot when the group is deleted OR replaced (a changed seed,
    // engine or subnet group), so that no replacement ever drops the data.
    this.replicationGroup.applyRemovalPolicy(
      props.removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
    );
    if (engine.seed !== undefined) {
      Annotations.of(this).addWarningV2(
        SEED_REPLACEMENT_WARNING_ID,
        `engine.seed ${engine.seed}: CloudFormation reads the seed only when it CREATES the group. Changing or removing it later REPLACES the group: a new endpoint, with the new seed's data (or none); what was written since is lost unless a final snapshot is taken. Keep the seed as it is after the group exists (docs/elasticache.md, "The seed").`,
      );
    }

    warnIfEvicting(this, envName, props.maxmemoryPolicy, 'choose a node type large enough');

    // ElastiCache reads the seed with its own service principal in opt-in regions (the bucket's
    // policy), and the log groups must exist first.
    this.replicationGroup.addResourceDependency(this.userGroup);
    this.replicationGroup.node.addDependency(this.engineLogGroup, this.slowLogGroup);

    this.hostName = this.replicationGroup.attrPrimaryEndPointAddress;
    this.readerHostName = this.replicationGroup.attrReaderEndPointAddress;
    this.nodeIds = Array.from({ length: engine.replicas + 1 }, (_, index) =>
      Fn.join('-', [this.replicationGroup.ref, String(index + 1).padStart(3, '0')]),
    );
  }

  /**
   * ElastiCache's notifications about this group (failover, node replacement, maintenance, snapshot
   * failures: AWS's "Event notifications" list) go to an SNS topic of their own, because ElastiCache
   * cannot publish to a KMS-encrypted topic (AWS: ElastiCacheSNS), and the alarm topic is one. The
   * messages hold event names and node ids only; the topic is TLS only and subscribed like the
   * alarm topic.
   */
  public addEventsTopic(alarmEmail: string | undefined): sns.Topic {
    const topic = new sns.Topic(this, 'EventsTopic', {
      displayName: 'Redis ElastiCache events',
      enforceSSL: true,
    });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'ElastiCache cannot publish its notifications to a KMS-encrypted topic (AWS ElastiCache SNS docs); the messages carry event names and node ids, no data.',
    });
    if (alarmEmail !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    this.replicationGroup.notificationTopicArn = topic.topicArn;
    return topic;
  }
}

function requireSeedBucket(bucket: s3.IBucket | undefined): s3.IBucket {
  if (bucket === undefined) throw new Error('engine.seed needs the stage seed bucket (RedisSeedBucket)');
  return bucket;
}

/** `arn:<partition>:s3:::<bucket>/<key>`, the form SnapshotArns takes. */
function seedArn(stack: Stack, bucket: s3.IBucket, key: string): string {
  return `arn:${stack.partition}:s3:::${bucket.bucketName}/${key}`;
}
