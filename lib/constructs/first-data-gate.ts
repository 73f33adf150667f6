import { CustomResource, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AwaitedMetric } from '../../lambda/first-data-gate/wait-for-data';
import { acknowledgeWildcardResource } from './nag';
import { ProjectFunction } from './project-function';
import { projectProvider } from './project-provider';

export interface FirstDataGateProps {
  /** Stage name, for descriptions. */
  readonly envName: string;
  /** The metrics the alarms watch whose first data point must exist before the alarms do. */
  readonly metrics: ReadonlyArray<{
    readonly metric: cloudwatch.Metric;
    /** The statistic of a minute that must reach `atLeast` (e.g. RedisUp's Maximum >= 1). */
    readonly statistic: 'Maximum' | 'Sum';
    readonly atLeast: number;
    readonly missingMeans: string;
  }>;
  /** The stage's alarm names start with it: a stage that has alarms already is not held. */
  readonly alarmNamePrefix: string;
  /**
   * Invoked once on the first deploy, so that a first backup exists (and its metric) on day one.
   * @default none (a stage without backup function, e.g. ElastiCache: the gate only waits)
   */
  readonly firstBackup?: lambda.IFunction;
  /** How long the first deploy waits for the data before it fails. @default 12 minutes */
  readonly waitMinutes?: number;
  readonly kmsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Holds a new stage's alarms until there is something to judge. An alarm that counts missing data
 * as breaching ("unreachable", "backup missing") would fire the moment it is created on a first
 * deploy: no sample yet, no backup for up to a day. This custom resource, on Create only, starts a
 * first backup (when the stage has a backup function) and waits until every given metric has a data point; the alarms depend on it, so
 * CloudFormation creates them after. If the data never comes (Redis unreachable, the backup failing)
 * the first deploy fails with the reason instead of paging someone later. Later deploys pass at once.
 *
 * The function runs outside the VPC: it calls only CloudWatch and Lambda, which the VPC has no
 * endpoints for, and touches no data.
 */
export class FirstDataGate extends Construct {
  /** The custom resource: make the alarms depend on it. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: FirstDataGateProps) {
    super(scope, id);
    const waitMinutes = props.waitMinutes ?? 12;
    const gateFunction = new ProjectFunction(this, 'Function', {
      handlerFolder: 'first-data-gate',
      description:
        props.firstBackup === undefined
          ? `Redis (${props.envName}) first deploy: wait for the alarms' first data`
          : `Redis (${props.envName}) first deploy: first backup, then wait for the alarms' first data`,
      environment: {},
      timeout: Duration.minutes(waitMinutes + 2),
      kmsKey: props.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    gateFunction.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadMetrics',
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
    );
    acknowledgeWildcardResource(
      gateFunction.role,
      '*',
      'cloudwatch:GetMetricData has no resource-level permissions (AWS service authorization reference); it reads metric values only.',
    );
    const stack = Stack.of(this);
    const stageAlarms = `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${props.alarmNamePrefix}*`;
    gateFunction.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SeeWhetherTheStageHasAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [stageAlarms],
      }),
    );
    acknowledgeWildcardResource(
      gateFunction.role,
      stageAlarms,
      "Describing only this stage's alarms (its name prefix), so that a stage that already has them passes at once.",
    );
    // That one function, unqualified (grantInvoke would add every version, `:*`).
    if (props.firstBackup !== undefined) {
      gateFunction.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'StartFirstBackup',
          actions: ['lambda:InvokeFunction'],
          resources: [props.firstBackup.functionArn],
        }),
      );
    }

    // The framework's function relays CloudFormation's request to ours (only reads metrics, starts the backup).
    const provider = projectProvider(this, { onEvent: gateFunction, what: 'the gate function', ...props });
    const awaited: AwaitedMetric[] = props.metrics.map(({ metric, statistic, atLeast, missingMeans }) => ({
      namespace: metric.namespace,
      metricName: metric.metricName,
      dimensions: { ...(metric.dimensions as Record<string, string>) },
      statistic,
      atLeast,
      missingMeans,
    }));
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::RedisFirstDataGate',
      properties: {
        // Without it the gate function starts nothing and only waits.
        ...(props.firstBackup !== undefined && { BackupFunctionName: props.firstBackup.functionName }),
        // toJsonString: the ECS metric's cluster and service names are tokens until deploy time.
        Metrics: Stack.of(this).toJsonString(awaited),
        WaitMinutes: String(waitMinutes),
        AlarmNamePrefix: props.alarmNamePrefix,
      },
    });
  }
}
