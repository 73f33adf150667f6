import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { type AwaitedMetric, waitForFirstData } from './wait-for-data';

/**
 * The first-data gate of a new stage (a custom resource the alarms depend on), run by the CDK
 * Provider framework. On Create: starts a first backup, then waits until every awaited metric has a
 * data point (Redis sampled by the metrics function, the backup succeeded), so that the alarms,
 * created only afterwards, start from real data instead of paging for "unreachable" and "backup
 * missing" on the first day. Update and Delete do nothing: the gate only guards a stage's birth;
 * so does a Create in a stage whose alarms already exist (the gate added to a deployed stage).
 *
 * Resource properties: BackupFunctionName, Metrics (JSON of AwaitedMetric[]), WaitMinutes,
 * AlarmNamePrefix.
 */
const cloudwatch = new CloudWatchClient({});
const lambda = new LambdaClient({});

export async function handler(event: CloudFormationCustomResourceEvent, context: Context) {
  const physicalResourceId = 'first-data-gate';
  if (event.RequestType !== 'Create') return { PhysicalResourceId: physicalResourceId };

  const properties = event.ResourceProperties as unknown as Record<string, string>;
  if (properties.AlarmNamePrefix) {
    const existing = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: properties.AlarmNamePrefix, MaxRecords: 1 }),
    );
    if ((existing.MetricAlarms ?? []).length > 0) return { PhysicalResourceId: physicalResourceId };
  }
  const metrics = JSON.parse(properties.Metrics ?? '[]') as AwaitedMetric[];
  const since = new Date(Date.now() - 60_000);
  // Never past the function's own timeout: the error must reach CloudFormation.
  const waitMs = Math.min(
    Number(properties.WaitMinutes) * 60_000,
    context.getRemainingTimeInMillis() - 30_000,
  );
  if (properties.BackupFunctionName) {
    // Asynchronous: the backup reports through its own metrics, which are awaited below.
    await lambda.send(
      new InvokeCommand({
        FunctionName: properties.BackupFunctionName,
        InvocationType: 'Event',
        Payload: Buffer.from('{}'),
      }),
    );
  }
  await waitForFirstData({ cloudwatch, metrics, since, deadline: new Date(Date.now() + waitMs) });
  return { PhysicalResourceId: physicalResourceId };
}
