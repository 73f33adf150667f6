import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { StageConfig } from '../config/stage-config';
import { RedisKey } from '../constructs/redis-key';
import { RedisNetwork } from '../constructs/redis-network';
import { RedisSecrets } from '../constructs/redis-secrets';

/** What every stage has, whatever its engine: it stays when a stage switches engine. */
export interface StageFoundation {
  readonly key: kms.IKey;
  readonly network: RedisNetwork;
  readonly secrets: RedisSecrets;
  /** RETAIN for a stage that retains its data, else DESTROY. */
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The stage's key, network and passwords, as `Key`, `Network` and `Secrets` of the stack. Both
 * engines' stacks build them here with the same construct ids, so their logical ids (and the
 * resources: the key, the VPC, the passwords consumers hold) survive a switch of engine.
 */
export function buildStageFoundation(stack: Stack, config: StageConfig): StageFoundation {
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  // The config holds a CloudWatch-valid number of days (validated); RetentionDays uses the same numbers.
  const logRetention = config.logRetentionDays as logs.RetentionDays;

  // The key is kept in EVERY stage: it encrypts the backup bucket, which a stack deletion never
  // deletes; a destroyed key would make those kept snapshots unreadable forever.
  const { key } = new RedisKey(stack, 'Key', {
    envName: config.envName,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const network = new RedisNetwork(stack, 'Network', {
    vpc: config.vpc,
    kmsKey: key,
    logRetention,
    removalPolicy,
  });
  const secrets = new RedisSecrets(stack, 'Secrets', {
    envName: config.envName,
    kmsKey: key,
    removalPolicy,
    rotated: config.passwordRotationDays !== undefined,
  });
  return { key, network, secrets, removalPolicy, logRetention };
}
