import { ArnFormat, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag';
import { ProjectFunction } from '../project-function';
import type { RedisNetwork } from '../redis-network';
import type { RedisSecrets } from '../redis-secrets';
import type { RedisReplicationGroup } from './redis-replication-group';

export interface ElastiCachePasswordRotationProps {
  /** Lower-case stage name: in the descriptions and the function's STAGE. */
  readonly envName: string;
  /** The replication group: its primary endpoint (the test login) and its users' ids. */
  readonly group: RedisReplicationGroup;
  /** The stage's passwords: the app's and the monitor's rotate; the backup one has no user here. */
  readonly secrets: RedisSecrets;
  /** The stage's network: the function's subnets, and where the ElastiCache API endpoint is added. */
  readonly network: RedisNetwork;
  /** The functions' security group (reaches Redis on 6380, and the endpoints on 443). */
  readonly functionsSecurityGroup: ec2.ISecurityGroup;
  /** The CAs the primary endpoint's certificate chains to (REDIS_TLS_CA). */
  readonly caCertificatePem: string;
  /** Days between two rotations of each password. */
  readonly rotationDays: number;
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Rotation of an ElastiCache stage's REDIS_PASSWORD (user `app`) and REDIS_MONITOR_PASSWORD (user
 * `monitor`) without cutting anyone off (docs/runbook/rotate-password.md, "ElastiCache stages"):
 *
 * - Secrets Manager rotates each secret every `rotationDays` with the rotation function of the
 *   Fargate stages (lambda/rotate-password) in its ElastiCache mode (`PASSWORD_STORE=elasticache`):
 *   ModifyUser gives the user the current and the new password (an ElastiCache user holds two),
 *   a new TLS login proves the new one on the primary endpoint, then it becomes AWSCURRENT; the
 *   previous one stays valid until the next rotation.
 * - The function calls the ElastiCache API from the isolated subnets through an interface endpoint
 *   (`elasticache`) that this construct adds to the stage's network; it may describe and modify
 *   exactly the two users, nothing else of ElastiCache.
 * - REDIS_BACKUP_PASSWORD is not rotated here: no ElastiCache user holds it (ElastiCache refuses
 *   SYNC, the backup's protocol), so it opens nothing. The secret stays for a switch back to
 *   Fargate, whose RedisPasswordRotation rotates it again.
 * - Nothing reads AWSPREVIOUS at start (unlike the Fargate container): no seeding custom resource.
 */
export class ElastiCachePasswordRotation extends Construct {
  public readonly rotationFunction: ProjectFunction;
  /** The interface endpoint of the ElastiCache API (none in an imported VPC whose owner makes them). */
  public readonly elastiCacheEndpoint?: ec2.InterfaceVpcEndpoint;
  /** The rotated secrets, each with the ElastiCache user id whose password it holds. */
  public readonly rotated: ReadonlyArray<{ readonly secret: secretsmanager.Secret; readonly userId: string }>;

  constructor(scope: Construct, id: string, props: ElastiCachePasswordRotationProps) {
    super(scope, id);
    const { group, secrets } = props;
    const stack = Stack.of(this);
    this.rotated = [
      { secret: secrets.password, userId: group.userIds.application },
      { secret: secrets.monitorPassword, userId: group.userIds.monitor },
    ];

    this.elastiCacheEndpoint = props.network.addInterfaceEndpoint(
      'ElastiCacheEndpoint',
      ec2.InterfaceVpcEndpointAwsService.ELASTICACHE,
    );

    this.rotationFunction = new ProjectFunction(this, 'Function', {
      handlerFolder: 'rotate-password',
      description: `Redis (${props.envName}, ElastiCache): rotates the app and monitor passwords (ModifyUser: current + new, tested, then current)`,
      // ElastiCache applies a ModifyUser asynchronously: a step waits for the user to be active
      // again up to this timeout (less a margin), then fails, and Secrets Manager retries it.
      timeout: Duration.minutes(5),
      network: {
        vpc: props.network.vpc,
        subnets: props.network.subnets,
        securityGroup: props.functionsSecurityGroup,
      },
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        STAGE: props.envName,
        PASSWORD_STORE: 'elasticache',
        REDIS_HOST: group.hostName,
        REDIS_PORT: String(group.port),
        REDIS_TLS_CA: props.caCertificatePem,
        ELASTICACHE_USER_IDS: stack.toJsonString(
          Object.fromEntries(this.rotated.map(({ secret, userId }) => [secret.secretArn, userId])),
        ),
      },
    });
    this.rotationFunction.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ModifyTheRotatedUsers',
        actions: ['elasticache:DescribeUsers', 'elasticache:ModifyUser'],
        resources: this.rotated.map(({ userId }) =>
          stack.formatArn({
            service: 'elasticache',
            resource: 'user',
            resourceName: userId,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      }),
    );
    // The rotated secrets' permissions (Describe/Get/Put/UpdateSecretVersionStage, GetRandomPassword,
    // the key through Secrets Manager) come with addRotationSchedule below.
    acknowledgeWildcardResource(
      this.rotationFunction.role,
      '*',
      'secretsmanager:GetRandomPassword (granted by addRotationSchedule) takes no resource (AWS service authorization reference): it only generates a random string.',
    );

    // The schedules. Not at once on deploy: the first rotation waits for its interval, when the
    // group, its users and the API endpoint exist.
    for (const { secret } of this.rotated) {
      const schedule = secret.addRotationSchedule('Rotation', {
        rotationLambda: this.rotationFunction.function,
        automaticallyAfter: Duration.days(props.rotationDays),
        rotateImmediatelyOnUpdate: false,
      });
      schedule.node.addDependency(group.replicationGroup);
      if (this.elastiCacheEndpoint) schedule.node.addDependency(this.elastiCacheEndpoint);
    }

    Validations.of(secrets.backupPassword).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "On an ElastiCache stage no user holds this password (ElastiCache refuses SYNC, the backup user's only use; the user group is default, app and monitor): it opens nothing, so rotating it protects nothing. It is kept for a switch back to Fargate, where RedisPasswordRotation rotates it again.",
    });
  }
}
