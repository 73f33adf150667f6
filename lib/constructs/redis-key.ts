import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface RedisKeyProps {
  /** Lower-case stage name, used in the key's alias and description. */
  readonly envName: string;
  /**
   * RETAIN keeps the key when the stack is deleted. It must be at least as long-lived as what it
   * encrypts: a retained file system or backup bucket whose key is deleted can never be read again.
   */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The customer-managed KMS key of one stage's Redis: it encrypts the EFS file system, the three
 * password secrets, the CloudWatch log groups (Redis, ECS Exec audit, VPC flow logs), ECS Exec
 * sessions and the backup bucket. Automatic yearly rotation is on.
 */
export class RedisKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: RedisKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: `Redis (${props.envName}): EFS data, password secrets, log groups, ECS Exec sessions`,
      alias: `alias/emailclient-redis-${props.envName}`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      // Only used when the key is destroyed (dev/staging): the shortest window AWS allows.
      pendingWindow: Duration.days(7),
    });
    // CloudWatch Logs encrypts a log group with this key only if the key policy lets the regional
    // Logs service use it, for this account's log groups.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );
  }
}
