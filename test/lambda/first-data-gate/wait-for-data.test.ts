import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { type AwaitedMetric, waitForFirstData } from '../../../lambda/first-data-gate/wait-for-data';

// CloudWatch's GetMetricData is a control-plane API that cannot run here: mocked. What is tested is
// the gate's decision: wait while a metric has no data point, pass once each has one, fail at the
// deadline naming what never came.
const REDIS_UP: AwaitedMetric = {
  namespace: 'EmailPlatform/Redis',
  metricName: 'RedisUp',
  dimensions: { service: 'redis-metrics', Stage: 'dev' },
  statistic: 'Maximum',
  atLeast: 1,
  missingMeans: 'the metrics function never sampled Redis',
};
const BACKUP: AwaitedMetric = {
  namespace: 'EmailPlatform/Redis/Backup',
  metricName: 'BackupSucceeded',
  dimensions: { service: 'redis-backup', Stage: 'dev' },
  statistic: 'Sum',
  atLeast: 1,
  missingMeans: 'the first backup did not succeed',
};

describe('waitForFirstData', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  afterEach(() => cloudwatch.reset());

  /** A fake clock that sleeps by moving forward. */
  function clock(start = Date.parse('2026-11-30T12:00:00Z')) {
    let now = start;
    const sleep = async (ms: number) => {
      now += ms;
    };
    return { now: () => now, sleep, start };
  }

  function answers(...polls: Array<Record<string, number[]>>) {
    let behaviour = cloudwatch.on(GetMetricDataCommand);
    for (const poll of polls) {
      behaviour = behaviour.resolvesOnce({
        MetricDataResults: Object.entries(poll).map(([Id, Values]) => ({ Id, Values })),
      });
    }
  }

  it('returns once every metric has a data point, asking only for data since the deploy', async () => {
    const time = clock();
    answers({ m0: [], m1: [] }, { m0: [1], m1: [] }, { m0: [1, 1], m1: [1] });
    await waitForFirstData({
      cloudwatch: cloudwatch as unknown as CloudWatchClient,
      metrics: [REDIS_UP, BACKUP],
      since: new Date(time.start),
      deadline: new Date(time.start + 10 * 60_000),
      ...time,
    });
    const calls = cloudwatch.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(3);
    const input = calls[0]?.args[0].input;
    expect(input?.StartTime).toEqual(new Date(time.start));
    expect(input?.MetricDataQueries?.map((query) => query.MetricStat?.Metric)).toEqual([
      {
        Namespace: 'EmailPlatform/Redis',
        MetricName: 'RedisUp',
        Dimensions: [
          { Name: 'service', Value: 'redis-metrics' },
          { Name: 'Stage', Value: 'dev' },
        ],
      },
      {
        Namespace: 'EmailPlatform/Redis/Backup',
        MetricName: 'BackupSucceeded',
        Dimensions: [
          { Name: 'service', Value: 'redis-backup' },
          { Name: 'Stage', Value: 'dev' },
        ],
      },
    ]);
  });

  it('does not count RedisUp = 0 (Redis unreachable) as the data the alarms may start from', async () => {
    const time = clock();
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'm0', Values: [0, 0, 0] },
        { Id: 'm1', Values: [1] },
      ],
    });
    const waiting = waitForFirstData({
      cloudwatch: cloudwatch as unknown as CloudWatchClient,
      metrics: [REDIS_UP, BACKUP],
      since: new Date(time.start),
      deadline: new Date(time.start + 2 * 60_000),
      ...time,
    });
    await expect(waiting).rejects.toThrow(
      /EmailPlatform\/Redis\/RedisUp \(the metrics function never sampled Redis\)/,
    );
    const stats = cloudwatch
      .commandCalls(GetMetricDataCommand)[0]
      ?.args[0].input.MetricDataQueries?.map((query) => query.MetricStat?.Stat);
    expect(stats).toEqual(['Maximum', 'Sum']);
  });

  it('reads every page of the answer', async () => {
    const time = clock();
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'm0', Values: [1] }], NextToken: 'more' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'm1', Values: [1] }] });
    await waitForFirstData({
      cloudwatch: cloudwatch as unknown as CloudWatchClient,
      metrics: [REDIS_UP, BACKUP],
      since: new Date(time.start),
      deadline: new Date(time.start + 60_000),
      ...time,
    });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken).toBe('more');
  });

  it('fails at the deadline, naming only the metrics that never came and what that means', async () => {
    const time = clock();
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'm0', Values: [1] },
        { Id: 'm1', Values: [] },
      ],
    });
    const waiting = waitForFirstData({
      cloudwatch: cloudwatch as unknown as CloudWatchClient,
      metrics: [REDIS_UP, BACKUP],
      since: new Date(time.start),
      deadline: new Date(time.start + 12 * 60_000),
      pollIntervalMs: 30_000,
      ...time,
    });
    await expect(waiting).rejects.toThrow(
      'no data within 12 minutes of the first deploy for: EmailPlatform/Redis/Backup/BackupSucceeded (the first backup did not succeed).',
    );
    // Polled until the deadline, not past it.
    expect(time.now()).toBe(time.start + 12 * 60_000);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(25);
  });
});
