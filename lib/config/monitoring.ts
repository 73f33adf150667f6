import type { MonitoringConfig, StageConfig } from './stage-config';

/** A stage's monitoring settings with every default filled in. */
export type ResolvedMonitoringConfig = Required<Omit<MonitoringConfig, 'celeryBacklogAlarmThreshold'>> &
  Pick<MonitoringConfig, 'celeryBacklogAlarmThreshold'>;

/** The defaults of `StageConfig.monitoring` (one place; each field's JSDoc repeats its own). */
export const DEFAULT_MONITORING: ResolvedMonitoringConfig = {
  metricsIntervalMinutes: 1,
  celeryQueues: ['celery'],
  celeryQueueDatabase: 0,
  downAlarmMinutes: 3,
  memoryAlarmPercent: 90,
  fragmentationAlarmRatio: 1.5,
  unsavedChangesAlarmMinutes: 60,
  taskCpuAlarmPercent: 80,
  taskMemoryAlarmPercent: 85,
  backupAlarmMarginHours: 3,
};

/** CloudWatch evaluates an alarm (period x evaluation periods) over at most 7 days. */
export const MAX_ALARM_WINDOW_HOURS = 168;

/** A stage's monitoring settings, defaults filled in. */
export function resolveMonitoring(config: StageConfig): ResolvedMonitoringConfig {
  const given = Object.fromEntries(
    Object.entries(config.monitoring ?? {}).filter(([, value]) => value !== undefined),
  ) as MonitoringConfig;
  return { ...DEFAULT_MONITORING, ...given };
}

/** A Celery queue name CloudWatch accepts as a dimension value: printable ASCII, no spaces or commas. */
const QUEUE_NAME = /^[\x21-\x2b\x2d-\x7e]{1,200}$/;

/**
 * The problems of a stage's `monitoring` section, each naming the stage, the field, the value and
 * what is allowed (called by validateStageConfig).
 */
export function validateMonitoring(config: StageConfig): string[] {
  const errors: string[] = [];
  const stage = config.stageName || '<unnamed>';
  const fail = (field: string, value: unknown, problem: string): void => {
    errors.push(`Stage '${stage}', field 'monitoring.${field}', value ${JSON.stringify(value)}: ${problem}`);
  };
  const m = resolveMonitoring(config);
  const isInteger = (value: number, min: number, max: number) =>
    Number.isInteger(value) && value >= min && value <= max;
  const isNumber = (value: number, min: number, max: number) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;

  if (!isInteger(m.metricsIntervalMinutes, 1, 5)) {
    fail(
      'metricsIntervalMinutes',
      m.metricsIntervalMinutes,
      'Allowed: a whole number of minutes from 1 to 5 (the Redis alarms evaluate 5-minute periods).',
    );
  }
  if (!Array.isArray(m.celeryQueues) || m.celeryQueues.length > 10) {
    fail('celeryQueues', m.celeryQueues, 'Allowed: a list of at most 10 queue names.');
  } else {
    m.celeryQueues.forEach((queue, index) => {
      if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
        fail(
          `celeryQueues[${index}]`,
          queue,
          'Allowed: a Celery queue name of 1-200 printable ASCII characters without spaces or commas.',
        );
      }
    });
    if (new Set(m.celeryQueues).size !== m.celeryQueues.length) {
      fail('celeryQueues', m.celeryQueues, 'Allowed: each queue once.');
    }
  }
  if (!isInteger(m.celeryQueueDatabase, 0, 15)) {
    fail('celeryQueueDatabase', m.celeryQueueDatabase, 'Allowed: a Redis database index from 0 to 15.');
  }
  const backlog = m.celeryBacklogAlarmThreshold;
  if (backlog !== undefined && !isInteger(backlog, 1, 100_000_000)) {
    fail(
      'celeryBacklogAlarmThreshold',
      backlog,
      'Allowed: a whole number of messages of at least 1, or unset for no backlog alarm.',
    );
  }
  if (
    !isInteger(m.downAlarmMinutes, 1, 60) ||
    (isInteger(m.metricsIntervalMinutes, 1, 5) && m.downAlarmMinutes < m.metricsIntervalMinutes)
  ) {
    fail(
      'downAlarmMinutes',
      m.downAlarmMinutes,
      `Allowed: a whole number of minutes from metricsIntervalMinutes (${m.metricsIntervalMinutes}) to 60.`,
    );
  }
  if (!isNumber(m.memoryAlarmPercent, 1, 100)) {
    fail('memoryAlarmPercent', m.memoryAlarmPercent, 'Allowed: a percentage of maxmemory from 1 to 100.');
  }
  if (!isNumber(m.fragmentationAlarmRatio, 1.1, 10)) {
    fail('fragmentationAlarmRatio', m.fragmentationAlarmRatio, 'Allowed: a ratio from 1.1 to 10.');
  }
  if (!isInteger(m.unsavedChangesAlarmMinutes, 20, 1440)) {
    fail(
      'unsavedChangesAlarmMinutes',
      m.unsavedChangesAlarmMinutes,
      'Allowed: a whole number of minutes from 20 (redis.conf saves changes within 15 minutes) to 1440.',
    );
  }
  if (!isNumber(m.taskCpuAlarmPercent, 1, 100)) {
    fail('taskCpuAlarmPercent', m.taskCpuAlarmPercent, 'Allowed: a percentage from 1 to 100.');
  }
  if (!isNumber(m.taskMemoryAlarmPercent, 1, 100)) {
    fail('taskMemoryAlarmPercent', m.taskMemoryAlarmPercent, 'Allowed: a percentage from 1 to 100.');
  }
  if (!isInteger(m.backupAlarmMarginHours, 1, 48)) {
    fail(
      'backupAlarmMarginHours',
      m.backupAlarmMarginHours,
      'Allowed: a whole number of hours from 1 to 48 (time for a backup run and its retries).',
    );
  }
  return errors;
}
