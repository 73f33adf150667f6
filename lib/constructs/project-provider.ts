import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag';
import type { ProjectFunction } from './project-function';

export interface ProjectProviderProps {
  /** The function CloudFormation's requests are relayed to. */
  readonly onEvent: ProjectFunction;
  /** What that function is, for the acknowledgements' reasons (`the certificate function`). */
  readonly what: string;
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The CDK custom-resource framework (a small function relaying CloudFormation's requests to one of
 * ours) as this project sets it up: its log group kept and encrypted like every other of the
 * stage, and the two cdk-nag findings about the framework's own role acknowledged on it alone.
 * Construct ids `Provider` and `ProviderLogs` under `scope`.
 */
export function projectProvider(scope: Construct, props: ProjectProviderProps): cr.Provider {
  const provider = new cr.Provider(scope, 'Provider', {
    onEventHandler: props.onEvent.function,
    logGroup: new logs.LogGroup(scope, 'ProviderLogs', {
      encryptionKey: props.kmsKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    }),
  });
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: `The CDK Provider framework's relay function writes its own logs with the basic execution policy; it holds no other permission but invoking ${props.what}.`,
  });
  acknowledgeWildcardResource(
    provider,
    `${props.onEvent.function.functionArn}:*`,
    `The CDK Provider framework may invoke any version of ${props.what} (its own grant).`,
  );
  return provider;
}
