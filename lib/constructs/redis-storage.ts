import type { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The image's `redis` user (redis:7.0.15-alpine): uid 999, gid 1000. See docker/redis/Dockerfile. */
export const REDIS_UID = '999';
export const REDIS_GID = '1000';
/** Directory of the file system Redis sees as /data (through the access point). */
export const REDIS_DATA_PATH = '/redis';

export interface RedisStorageProps {
  /** The VPC of the mount targets. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the mount targets (one per AZ). */
  readonly subnets: ec2.SubnetSelection;
  /** Encrypts the file system at rest. */
  readonly kmsKey: kms.IKey;
  /** RETAIN in prod: the data survives a deleted stack. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Redis's persistent `/data` (AOF + RDB): an EFS file system encrypted with the stage's KMS key,
 * elastic throughput (Redis writes in bursts: AOF fsync every second, BGSAVE, AOF rewrites), and an
 * access point that makes every client the image's `redis` user (999:1000) in `/redis` (owned by it,
 * 0750), whatever uid it claims.
 *
 * The file system policy denies every request without TLS and every request that does not go through
 * an access point, and it allows nothing: only a principal whose own IAM policy grants ClientMount
 * (see `grantReadWrite`) can mount, so an anonymous (non-IAM) NFS client never can.
 *
 * Its security group admits nothing by itself: the Redis task (and later the restore function) are
 * admitted on 2049 by `RedisSecurityGroups`.
 */
export class RedisStorage extends Construct {
  /** The file system. */
  public readonly fileSystem: efs.FileSystem;
  /** The access point Redis mounts as /data. */
  public readonly accessPoint: efs.AccessPoint;
  /** The mount targets' security group (admit clients on 2049 with `connections.allowDefaultPortFrom`). */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: RedisStorageProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Redis EFS mount targets: NFS (2049) from the Redis task only',
      // NFS servers only answer; security groups are stateful, so replies need no egress rule.
      allowAllOutbound: false,
    });
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'DenyWithoutTls',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['*'],
          resources: ['*'],
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'DenyWithoutAccessPoint',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: [
            'elasticfilesystem:ClientMount',
            'elasticfilesystem:ClientWrite',
            'elasticfilesystem:ClientRootAccess',
          ],
          resources: ['*'],
          conditions: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
        }),
      ],
    });
    this.fileSystem = new efs.FileSystem(this, 'FileSystem', {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: this.securityGroup,
      encrypted: true,
      kmsKey: props.kmsKey,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      fileSystemPolicy: policy,
      // CDK's name for "do not add CDK's default statement", which ALLOWS ClientWrite and
      // ClientRootAccess to every principal. Anonymous access stays impossible: the policy above
      // allows nothing, so only principals granted ClientMount by their own IAM policy can mount.
      allowAnonymousAccess: true,
      removalPolicy: props.removalPolicy,
    });
    this.accessPoint = this.fileSystem.addAccessPoint('AccessPoint', {
      path: REDIS_DATA_PATH,
      createAcl: { ownerUid: REDIS_UID, ownerGid: REDIS_GID, permissions: '750' },
      posixUser: { uid: REDIS_UID, gid: REDIS_GID },
    });
  }

  /**
   * Lets `grantee` mount the file system read-write through the access point, over a mount target.
   * Use with an ECS volume (or Lambda file system) that has IAM authorization and transit encryption.
   */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      resourceArns: [this.fileSystem.fileSystemArn],
      conditions: {
        StringEquals: { 'elasticfilesystem:AccessPointArn': this.accessPoint.accessPointArn },
        Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
      },
    });
  }
}
