import { Annotations, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

/** The construct id of the topic under the stage's monitoring construct (`Monitoring/AlarmTopic`). */
export const ALARM_TOPIC_ID = 'AlarmTopic';

/** Every alarm name of a stage starts with this, whatever its engine: `emailclient-redis-<stage>-`. */
export function stageAlarmNamePrefix(envName: string): string {
  return `emailclient-redis-${envName}-`;
}

export interface AlarmTopicProps {
  /** Lower-case stage name, in the topic's display name. */
  readonly envName: string;
  /** The stage key: encrypts the topic; CloudWatch gets Decrypt/GenerateDataKey on it for the stage's alarms. */
  readonly kmsKey: kms.IKey;
  /** The stage's alarm names start with it: only those alarms may publish (stageAlarmNamePrefix). */
  readonly alarmNamePrefix: string;
  /** Subscribed to the topic. @default no subscription (and a synth warning on `scope`) */
  readonly alarmEmail?: string;
}

/**
 * The stage's alarm topic, `AlarmTopic` under `scope` (the monitoring construct of either engine, so
 * a stage that switches engine keeps the topic, its ARN and its subscriptions): encrypted with the
 * stage key, TLS only, the e-mail subscription from the config, and publishable by this stage's
 * CloudWatch alarms of this account only (aws:SourceAccount + aws:SourceArn, against the confused
 * deputy), on the topic and on the key (CloudWatch drops notifications to an encrypted topic silently
 * without them).
 */
export function addAlarmTopic(scope: Construct, props: AlarmTopicProps): sns.Topic {
  const stack = Stack.of(scope);
  const topic = new sns.Topic(scope, ALARM_TOPIC_ID, {
    displayName: `Redis (${props.envName}) alarms`,
    masterKey: props.kmsKey,
    enforceSSL: true,
  });
  if (props.alarmEmail === undefined) {
    Annotations.of(scope).addWarningV2(
      'emailclient:redis-alarms-without-recipient',
      `No alarmEmail for this stage: its alarms notify nobody until someone subscribes to the topic (output AlarmTopicArn). Set alarmEmail in lib/config/ (a retained stage must set it, or say alarmsNotifyNobody: true).`,
    );
  } else {
    topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
  // CloudWatch publishes to an encrypted topic only with these on the key; scoped to this stage's
  // alarms (aws:SourceArn) of this account (confused deputy).
  const alarmArns = `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${props.alarmNamePrefix}*`;
  const fromOurAlarms = {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: { 'aws:SourceArn': alarmArns },
  };
  props.kmsKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToNotify',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromOurAlarms,
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromOurAlarms,
    }),
  );
  return topic;
}
