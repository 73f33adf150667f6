import type { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../shared/metric-names';
import type { MetricsLogger, MetricsState } from './collect';

/** The parts of an EventBridge "ECS Task State Change" event the function reads. */
export interface TaskStateChangeEvent {
  readonly source: 'aws.ecs';
  readonly 'detail-type': 'ECS Task State Change';
  readonly detail: {
    readonly taskArn?: string;
    readonly group?: string;
    readonly lastStatus?: string;
    readonly stopCode?: string;
    readonly stoppedReason?: string;
    readonly stoppedAt?: string;
    readonly containers?: readonly {
      readonly name?: string;
      readonly exitCode?: number;
      readonly reason?: string;
    }[];
  };
}

/** True for an ECS task state change event whose task has stopped. */
export function isTaskStoppedEvent(event: unknown): event is TaskStateChangeEvent {
  const candidate = event as Partial<TaskStateChangeEvent> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.source === 'aws.ecs' &&
    candidate['detail-type'] === 'ECS Task State Change' &&
    candidate.detail?.lastStatus === 'STOPPED'
  );
}

/**
 * The ECS service scheduler's own stops: a deployment replacing the task ("Scaling activity
 * initiated by (deployment ecs-svc/...)", stop code ServiceSchedulerInitiated) or a change of the
 * desired count. Everything else (essential container exited, failed health check, out of memory,
 * failed to start, Fargate maintenance, a person's StopTask) is unexpected.
 */
export function isPlannedStop(detail: TaskStateChangeEvent['detail']): boolean {
  return (detail.stoppedReason ?? '').startsWith('Scaling activity initiated by');
}

/** How many task ARNs to remember against duplicate deliveries. */
const REMEMBERED_STOPS = 50;

export type TaskStopOutcome = 'unexpected' | 'planned' | 'duplicate';

/**
 * Records a stopped Redis task: logs the stop code, reason and each container's exit code (what
 * the on-call engineer needs first), and publishes UnexpectedTaskStops = 1 unless a deployment
 * stopped it. A task already counted (EventBridge delivers at least once) is not counted again.
 */
export function recordTaskStop(
  event: TaskStateChangeEvent,
  deps: { readonly logger: MetricsLogger; readonly metrics: Metrics; readonly state: MetricsState },
): TaskStopOutcome {
  const { detail } = event;
  const taskArn = detail.taskArn ?? '';
  const facts = {
    taskArn,
    stopCode: detail.stopCode,
    stoppedReason: detail.stoppedReason,
    stoppedAt: detail.stoppedAt,
    containers: (detail.containers ?? []).map(({ name, exitCode, reason }) => ({ name, exitCode, reason })),
  };
  if (taskArn !== '' && deps.state.countedTaskStops.includes(taskArn)) {
    deps.logger.info('Redis task stop already counted', facts);
    return 'duplicate';
  }
  if (taskArn !== '') {
    deps.state.countedTaskStops.push(taskArn);
    if (deps.state.countedTaskStops.length > REMEMBERED_STOPS) deps.state.countedTaskStops.shift();
  }
  if (isPlannedStop(detail)) {
    deps.logger.info('Redis task stopped by a deployment', facts);
    return 'planned';
  }
  deps.logger.error('Redis task stopped unexpectedly', facts);
  deps.metrics.addMetric(METRIC.UnexpectedTaskStops, 'Count', 1);
  deps.metrics.publishStoredMetrics();
  return 'unexpected';
}
