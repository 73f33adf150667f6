import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';

/**
 * A metric the alarms of a new stage must have seen before they exist: until its first data point
 * arrives, an alarm that treats missing data as breaching would page for nothing on a first deploy.
 */
export interface AwaitedMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /**
   * A data point counts only if this statistic of a minute reaches `atLeast`: RedisUp = 0 (Redis
   * unreachable) is data, but not the data that lets the alarms start quiet.
   */
  readonly statistic: 'Maximum' | 'Sum';
  readonly atLeast: number;
  /** What it means when it never comes, for the deploy's error message. */
  readonly missingMeans: string;
}

export interface WaitOptions {
  readonly cloudwatch: CloudWatchClient;
  readonly metrics: readonly AwaitedMetric[];
  /** Only data points from this moment on count (the deploy's, not an earlier stage's). */
  readonly since: Date;
  /** Give up then, naming what never came. */
  readonly deadline: Date;
  /** @default 20 s */
  readonly pollIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The metrics of `metrics` without a good data point (>= atLeast) since `since`. */
export async function metricsWithoutData(
  options: Pick<WaitOptions, 'cloudwatch' | 'metrics' | 'since'> & { until: Date },
): Promise<AwaitedMetric[]> {
  const queries: MetricDataQuery[] = options.metrics.map((metric, index) => ({
    Id: `m${index}`,
    MetricStat: {
      Metric: {
        Namespace: metric.namespace,
        MetricName: metric.metricName,
        Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: 60,
      Stat: metric.statistic,
    },
    ReturnData: true,
  }));
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await options.cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: options.since,
        EndTime: options.until,
        NextToken: nextToken,
      }),
    );
    for (const result of page.MetricDataResults ?? []) {
      const metric = options.metrics[Number(result.Id?.slice(1))];
      if (result.Id && metric && (result.Values ?? []).some((value) => value >= metric.atLeast))
        seen.add(result.Id);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return options.metrics.filter((_metric, index) => !seen.has(`m${index}`));
}

/**
 * Waits until every metric has a data point since `since`; throws at the deadline with what never
 * came and what that means, so a first deploy fails with the reason instead of paging later.
 */
export async function waitForFirstData(options: WaitOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (;;) {
    const missing = await metricsWithoutData({ ...options, until: new Date(now()) });
    if (missing.length === 0) return;
    if (now() >= options.deadline.getTime()) {
      const minutes = Math.round((options.deadline.getTime() - options.since.getTime()) / 60_000);
      throw new Error(
        `no data within ${minutes} minutes of the first deploy for: ` +
          missing
            .map((metric) => `${metric.namespace}/${metric.metricName} (${metric.missingMeans})`)
            .join('; ') +
          '. The alarms are not created until it comes, so nobody is paged for a stage that never worked; fix the cause and deploy again.',
      );
    }
    await sleep(Math.min(options.pollIntervalMs ?? 20_000, Math.max(0, options.deadline.getTime() - now())));
  }
}
