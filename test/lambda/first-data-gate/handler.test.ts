import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../lambda/first-data-gate/handler';

// The custom resource's handler, with CloudWatch and Lambda (control-plane APIs) mocked.
const cloudwatch = mockClient(CloudWatchClient);
const lambda = mockClient(LambdaClient);
afterEach(() => {
  cloudwatch.reset();
  lambda.reset();
});

const context = { getRemainingTimeInMillis: () => 14 * 60_000 } as Context;
const properties = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  BackupFunctionName: 'dev-backup',
  WaitMinutes: '12',
  AlarmNamePrefix: 'emailclient-redis-dev-',
  Metrics: JSON.stringify([
    {
      namespace: 'EmailPlatform/Redis',
      metricName: 'RedisUp',
      dimensions: { Stage: 'dev' },
      statistic: 'Maximum',
      atLeast: 1,
      missingMeans: 'no sample',
    },
  ]),
};
function event(RequestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  return {
    RequestType,
    ResourceProperties: properties,
    PhysicalResourceId: 'first-data-gate',
  } as unknown as CloudFormationCustomResourceEvent;
}

describe('first-data gate handler', () => {
  it('on Create starts the first backup asynchronously, then returns once the metrics have data', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [1] }] });
    await expect(handler(event('Create'), context)).resolves.toEqual({
      PhysicalResourceId: 'first-data-gate',
    });
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke).toMatchObject({ FunctionName: 'dev-backup', InvocationType: 'Event' });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });

  it('on Create in a stage that already has its alarms (the gate added to a deployed stage) passes at once', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'emailclient-redis-dev-unreachable' }] });
    await expect(handler(event('Create'), context)).resolves.toEqual({
      PhysicalResourceId: 'first-data-gate',
    });
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({
      AlarmNamePrefix: 'emailclient-redis-dev-',
      MaxRecords: 1,
    });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it.each(['Update', 'Delete'] as const)(
    "on %s does nothing: the gate guards only a stage's first deploy",
    async (type) => {
      await expect(handler(event(type), context)).resolves.toEqual({ PhysicalResourceId: 'first-data-gate' });
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
      expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    },
  );

  it('fails the deploy with the reason when the backup cannot be started', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    lambda.on(InvokeCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await expect(handler(event('Create'), context)).rejects.toThrow(/AccessDeniedException/);
  });
});
