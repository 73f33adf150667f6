export * from '../shared/metric-names';
export {
  type CollectDeps,
  type CollectResult,
  collectRedisMetrics,
  type MetricsLogger,
  MetricsState,
  publishPoints,
  publishRedisDown,
} from './collect';
export {
  type CounterBaseline,
  intervalCount,
  type MetricPoint,
  type MetricUnit,
  REDIS_DOWN,
  toMetricPoints,
} from './redis-metrics';
export {
  celeryQueueKeys,
  KOMBU_PRIORITY_SEPARATOR,
  KOMBU_PRIORITY_STEPS,
  type RedisSample,
  SampleError,
  type SampleFailureReason,
  type SampleOptions,
  sampleRedis,
} from './sample';
export { isPlannedStop, isTaskStoppedEvent, recordTaskStop, type TaskStateChangeEvent } from './task-events';
