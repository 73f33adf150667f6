import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface RestoreLogGroupProps {
  readonly envName: string;
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** DESTROY or RETAIN (then kept on update and delete, not on a failed creation). */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The restore state machine's log group, as child `Logs` of `scope` (the stage's `Restore`). A
 * named group: an ElastiCache stage keeps it at the same path (with no state machine), so that a
 * retained stage switching to ElastiCache and back does not find its name taken by the group the
 * first switch left behind ("already exists").
 */
export function addRestoreLogGroup(scope: Construct, props: RestoreLogGroupProps): logs.LogGroup {
  return new logs.LogGroup(scope, 'Logs', {
    // Under /aws/vendedlogs/states/, as AWS advises: Step Functions then does not add the group to
    // the account's CloudWatch Logs resource policy, whose 5,120 characters fill up.
    logGroupName: `/aws/vendedlogs/states/emailclient-redis-${props.envName}-restore`,
    encryptionKey: props.kmsKey,
    retention: props.logRetention,
    // A named group that is kept would block the retry of a failed first deploy ("already
    // exists"): kept on update and delete, but not when the stack's creation rolls back.
    removalPolicy:
      props.removalPolicy === RemovalPolicy.RETAIN
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : props.removalPolicy,
  });
}
