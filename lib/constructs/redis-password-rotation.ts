import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { acknowledgeWildcardResource } from './nag';
import { ProjectFunction } from './project-function';
import { projectProvider } from './project-provider';
import type { RedisService } from './redis-service';

export interface RedisPasswordRotationProps {
  /** The stage's Redis: its three password secrets, container, service, network and CA. */
  readonly redis: RedisService;
  readonly envName: string;
  /** Days between two rotations of each password. */
  readonly rotationDays: number;
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * The VPC endpoints the function reaches Secrets Manager through (isolated subnets): the deploy-time
   * seeding waits for them.
   */
  readonly endpoints: readonly IDependable[];
}

/** Password length of the rotator user (the three rotated ones keep RedisSecrets's 64). */
const ROTATOR_PASSWORD_LENGTH = 64;

/**
 * Rotation of REDIS_PASSWORD, REDIS_BACKUP_PASSWORD and REDIS_MONITOR_PASSWORD without cutting
 * anyone off (docs/runbook/rotate-password.md):
 *
 * - Secrets Manager rotates each secret every `rotationDays` with the rotation function
 *   (lambda/rotate-password), which uses Redis ACL's several passwords per user: the new password
 *   is added on the live Redis (setSecret) and tested before it becomes AWSCURRENT; the previous one
 *   stays valid until the next rotation, which removes it.
 * - The Redis container reads each password's AWSCURRENT and AWSPREVIOUS (ECS secrets with a version
 *   stage), so a restart between two rotations keeps both. A custom resource makes sure AWSPREVIOUS
 *   exists before the first task (a second version with the same value).
 * - The function logs in as the `rotator` ACL user (its own secret): ACL SETUSER and PING only.
 */
export class RedisPasswordRotation extends Construct {
  public readonly rotatorSecret: secretsmanager.Secret;
  public readonly rotationFunction: ProjectFunction;

  constructor(scope: Construct, id: string, props: RedisPasswordRotationProps) {
    super(scope, id);
    const { redis } = props;
    const rotated: ReadonlyArray<readonly [secretsmanager.Secret, string, string]> = [
      [redis.secrets.password, 'default', 'REDIS_PASSWORD_PREVIOUS'],
      [redis.secrets.backupPassword, 'backup', 'REDIS_BACKUP_PASSWORD_PREVIOUS'],
      [redis.secrets.monitorPassword, 'monitor', 'REDIS_MONITOR_PASSWORD_PREVIOUS'],
    ];

    this.rotatorSecret = new secretsmanager.Secret(this, 'RotatorPassword', {
      description: `Redis (${props.envName}): password of the rotator ACL user (the password rotation function)`,
      encryptionKey: props.kmsKey,
      removalPolicy: props.removalPolicy,
      generateSecretString: {
        passwordLength: ROTATOR_PASSWORD_LENGTH,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(this.rotatorSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The rotator's own password is not rotated by the function it authenticates: a failed rotation of it would lock the " +
        'rotation of the three Redis passwords out. It is readable only by that function and the Redis task, and grants ACL SETUSER only.',
    });

    this.rotationFunction = new ProjectFunction(this, 'Function', {
      handlerFolder: 'rotate-password',
      description: `Redis (${props.envName}): rotates the Redis passwords (ACL: new password added, tested, then current)`,
      timeout: Duration.seconds(60),
      network: { vpc: redis.vpc, subnets: redis.subnets, securityGroup: redis.functionsSecurityGroup },
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        STAGE: props.envName,
        REDIS_HOST: redis.hostName,
        REDIS_PORT: String(redis.tlsPort ?? redis.port),
        ...(redis.caCertificatePem !== undefined && { REDIS_TLS_CA: redis.caCertificatePem }),
        ROTATOR_SECRET_ARN: this.rotatorSecret.secretArn,
        SECRET_USERS: Stack.of(this).toJsonString(
          Object.fromEntries(rotated.map(([secret, user]) => [secret.secretArn, user])),
        ),
      },
    });
    // The rotator's password; the rotated secrets' permissions (Describe/Get/Put/UpdateSecretVersionStage,
    // GetRandomPassword, the key through Secrets Manager) come with addRotationSchedule below.
    this.rotatorSecret.grantRead(this.rotationFunction.role);
    acknowledgeWildcardResource(
      this.rotationFunction.role,
      '*',
      'secretsmanager:GetRandomPassword (granted by addRotationSchedule) takes no resource (AWS service authorization reference): it only generates a random string.',
    );

    // AWSPREVIOUS must exist before the first Redis task reads it: a second version of each secret
    // with the same value (the function's handler does it on Create).
    const provider = projectProvider(this, {
      onEvent: this.rotationFunction,
      what: 'the rotation function',
      ...props,
    });
    const seeded = new CustomResource(this, 'PreviousVersions', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::RedisPreviousPasswords',
      properties: { Secrets: rotated.map(([secret]) => secret.secretArn).join(',') },
    });
    seeded.node.addDependency(...props.endpoints);

    // The container: the previous passwords and the rotator's.
    for (const [secret, , variable] of rotated) {
      redis.container.addSecret(
        variable,
        ecs.Secret.fromSecretsManagerVersion(secret, { versionStage: 'AWSPREVIOUS' }),
      );
    }
    redis.container.addSecret('REDIS_ROTATOR_PASSWORD', ecs.Secret.fromSecretsManager(this.rotatorSecret));
    redis.service.node.addDependency(seeded);

    // The schedules. Not at once on deploy: the first rotation waits for its interval, when Redis runs.
    for (const [secret] of rotated) {
      const schedule = secret.addRotationSchedule('Rotation', {
        rotationLambda: this.rotationFunction.function,
        automaticallyAfter: Duration.days(props.rotationDays),
        rotateImmediatelyOnUpdate: false,
      });
      // After the Redis service too: creating a schedule may test the function against the live Redis,
      // which must be the one with the rotator user.
      schedule.node.addDependency(seeded, redis.service);
    }
  }
}
