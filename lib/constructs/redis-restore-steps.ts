/**
 * Names of the restore state machine's steps: the state names in the definition, and what
 * `npm run -s ops -- restore --stage ...` prints as progress. No imports: the ops command loads
 * this without aws-cdk-lib.
 */
export const RESTORE_STEPS = {
  guard: 'Check that no other restore runs',
  verify: 'Verify snapshot',
  scaleDown: 'Scale Redis to 0',
  waitStopped: 'Wait until no Redis task runs',
  install: 'Install snapshot on EFS',
  scaleUp: 'Scale Redis to 1',
  waitHealthy: 'Wait until Redis is healthy',
  checkKeys: 'Check restored key count',
  restored: 'Restored',
  recoverScaleUp: 'Recover: scale Redis to 1',
  recoverWaitHealthy: 'Recover: wait until Redis is healthy',
  rollbackScaleDown: 'Rollback: scale Redis to 0',
  rollbackWaitStopped: 'Rollback: wait until no Redis task runs',
  rollbackReinstate: 'Rollback: put the previous data back',
  rollbackScaleUp: 'Rollback: scale Redis to 1',
  rollbackWaitHealthy: 'Rollback: wait until Redis is healthy',
} as const;

/** The Fail states: where a failed restore ends, and so what state Redis was left in. */
export const RESTORE_OUTCOMES = {
  /** Refused before anything was touched (another restore runs, the snapshot is bad or missing). */
  nothingChanged: 'Failed: nothing was changed',
  /** Failed while stopping Redis; Redis was scaled back to 1 on the data it had. */
  recovered: 'Failed: Redis is back on its own data',
  /** ... and bringing Redis back failed too. */
  recoveryFailed: 'Failed: Redis could not be brought back',
  /** Failed after the install started; the previous data is back and Redis is healthy on it. */
  rolledBack: 'Failed: the previous data is back',
  /** ... and the rollback failed: Redis may be down or on the restored data. Act now. */
  rollbackFailed: 'Failed: the rollback failed',
} as const;

/** State names of one poll loop (the progress output shows only the loop's first state). */
export function pollStateName(step: string, what: string): string {
  return `${step} - ${what}`;
}
