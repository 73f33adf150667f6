import { randomBytes } from 'node:crypto';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DEFAULT_SNAPSHOT_PREFIX, listSnapshots, parseSnapshotKey } from '../../lambda/shared/snapshots';
import { compactTimestamp } from '../../lambda/shared/snapshots/snapshot-key';
import { RESTORE_OUTCOMES, RESTORE_STEPS } from '../../lib/constructs/redis-restore-steps';
import { formatBytes, UsageError } from '../cli-kit';
import { deployedEngine, elastiCacheStageRefusal } from './stage-engine';
import { readStackOutputs, requireOutput, stageStack } from './stage-stack';

/** How the command talks to the person running it. */
export interface RestoreIo {
  /** A line of the command's output (stdout). */
  out(line: string): void;
  /** A line about a problem (stderr). */
  err(line: string): void;
  /** stdin is a terminal: a person can answer a question. */
  readonly interactive: boolean;
  /** Asks a question, returns the answer line. */
  ask(question: string): Promise<string>;
}

export interface AwsRestoreDeps {
  readonly cfn: CloudFormationClient;
  readonly sfn: SFNClient;
  readonly s3: S3Client;
  readonly io: RestoreIo;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Between two looks at the execution. @default 5_000 */
  readonly pollMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface AwsRestoreOptions {
  /** `prod`, `staging`, `dev` (or the Stage's name). */
  readonly stage: string;
  /** Object key of the snapshot in the stage's backup bucket. */
  readonly snapshot?: string;
  /** The newest snapshot of the stage's own backups. */
  readonly latest?: boolean;
  /** Skip the confirmation (required for prod without a terminal). */
  readonly yes?: boolean;
}

/** Stages whose restore asks the person to type the stage's name first. */
export const CONFIRMED_STAGES: readonly string[] = ['prod'];

/**
 * Whether the person must type the stage's name first; a UsageError when they must and cannot
 * (no terminal, no --yes). Checked before anything calls AWS.
 */
export function needsConfirmation(envName: string, yes: boolean, interactive: boolean): boolean {
  const confirm = CONFIRMED_STAGES.includes(envName) && !yes;
  if (confirm && !interactive) {
    throw new UsageError(
      `restoring ${envName} needs a confirmation, and stdin is not a terminal: add --yes to restore without asking`,
    );
  }
  return confirm;
}

const STEP_NAMES = new Set<string>(Object.values(RESTORE_STEPS));
const OUTCOME_NAMES = new Set<string>(Object.values(RESTORE_OUTCOMES));

/**
 * `npm run -s ops -- restore --stage <stage> (--snapshot <key> | --latest) [--yes]`: finds the
 * stage's stack outputs (bucket, state machine), checks the snapshot exists, asks for confirmation
 * in prod, starts the restore state machine and follows it step by step until it ends. A stage
 * that runs on ElastiCache is refused before S3 or Step Functions is called (docs/elasticache.md).
 * Returns the exit code: 0 restored, 1 failed, not confirmed or an ElastiCache stage (the reason printed).
 */
export async function restoreOnAws(deps: AwsRestoreDeps, options: AwsRestoreOptions): Promise<number> {
  const { io } = deps;
  const now = deps.now ?? (() => new Date());
  if ((options.snapshot === undefined) === !options.latest) {
    throw new UsageError('give exactly one of --snapshot <key> or --latest');
  }
  const target = stageStack(options.stage);
  const confirm = needsConfirmation(target.envName, options.yes === true, io.interactive);

  const outputs = await readStackOutputs(deps.cfn, target.stackName);
  // An ElastiCache stage has no restore state machine: a restore there is a new group from a snapshot.
  if (deployedEngine(outputs) === 'elasticache') {
    io.err(`restore: ${elastiCacheStageRefusal(target.envName)}`);
    return 1;
  }
  const bucket = requireOutput(outputs, 'BackupBucketName', target.stackName);
  const stateMachineArn = requireOutput(outputs, 'RestoreStateMachineArn', target.stackName);

  // The snapshot: it must exist before Redis is stopped for it.
  let key = options.snapshot;
  let size: number | undefined;
  let keys: number | undefined;
  if (key === undefined) {
    const [newest] = await listSnapshots({
      s3: deps.s3,
      bucket,
      prefix: DEFAULT_SNAPSHOT_PREFIX,
      stage: target.envName,
      limit: 1,
    });
    if (newest === undefined) {
      io.err(
        `restore: no snapshot of ${target.envName} in s3://${bucket}/${DEFAULT_SNAPSHOT_PREFIX}/${target.envName}/`,
      );
      return 1;
    }
    ({ key, size, keys } = newest);
  } else {
    try {
      const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      size = head.ContentLength;
      const metaKeys = head.Metadata?.keys;
      keys = metaKeys !== undefined && /^\d+$/.test(metaKeys) ? Number(metaKeys) : undefined;
    } catch (error) {
      if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey') {
        io.err(
          `restore: there is no snapshot ${key} in s3://${bucket} (list them: npm run -s ops -- snapshots --stage ${target.envName})`,
        );
        return 1;
      }
      throw error;
    }
  }
  const taken = parseSnapshotKey(key)?.time.toISOString() ?? 'unknown time';
  io.out(`restore ${target.envName} (stack ${target.stackName})`);
  io.out(
    `  from:  s3://${bucket}/${key} (taken ${taken}, ${size === undefined ? '? bytes' : formatBytes(size)}, ${keys ?? '?'} keys)`,
  );
  io.out(
    '  Redis is stopped while the snapshot is installed, then started on it: expect a few minutes without Redis.',
  );
  io.out('  The current data is kept on the file system in /data/pre-restore-<time>/.');

  if (confirm) {
    const answer = await io.ask(`Type the stage name (${target.envName}) to restore it: `);
    if (answer.trim() !== target.envName) {
      io.err('restore: not confirmed, nothing was done');
      return 1;
    }
  }

  const running = await deps.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 10 }),
  );
  const other = running.executions?.[0];
  if (other !== undefined) {
    io.err(
      `restore: another restore of ${target.envName} is running (${other.executionArn}): wait for it to end`,
    );
    return 1;
  }

  const name = `restore-${compactTimestamp(now())}-${randomBytes(3).toString('hex')}`;
  const started = await deps.sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ key }) }),
  );
  const executionArn = started.executionArn as string;
  io.out(`  execution: ${executionArn}`);
  return follow(deps, executionArn, target.envName);
}

/** The outcome of an execution, as the command reports it. */
export interface ExecutionReport {
  readonly status: string;
  /** The Fail state it ended in (how Redis was left). */
  readonly outcome?: string;
  /** The step that failed first. */
  readonly failedStep?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: string;
}

/** Follows the execution's history, printing each step as it starts; returns the exit code. */
async function follow(deps: AwsRestoreDeps, executionArn: string, envName: string): Promise<number> {
  const { io } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const progress = new ProgressPrinter(io);
  let lastEventId = 0;
  let failedPolls = 0;
  for (;;) {
    let described: Awaited<ReturnType<typeof describe>>;
    let events: HistoryEvent[];
    try {
      described = await describe(deps.sfn, executionArn);
      // Read the history after the status: when the status says it ended, the history is complete.
      events = await newEvents(deps.sfn, executionArn, lastEventId);
      failedPolls = 0;
    } catch (error) {
      // Expired credentials, throttling, a network blip: the restore goes on in AWS regardless.
      failedPolls++;
      if (failedPolls >= MAX_FAILED_POLLS) {
        io.err(
          `restore: lost track of the restore after ${failedPolls} failed polls: ${(error as Error).message}`,
        );
        io.err('  the restore itself goes on in AWS; follow it with:');
        io.err(`  aws stepfunctions describe-execution --execution-arn ${executionArn}`);
        return LOST_TRACK_EXIT_CODE;
      }
      await sleep(deps.pollMs ?? 5_000);
      continue;
    }
    for (const event of events) {
      lastEventId = Math.max(lastEventId, event.id ?? 0);
      progress.add(event);
    }
    const status = described.status ?? 'UNKNOWN';
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') {
      const report = progress.report(status, described.error, described.cause, described.output);
      if (status === 'SUCCEEDED') {
        printSuccess(io, envName, report.output);
        return 0;
      }
      io.err(`restore of ${envName} ${status}${report.outcome ? `: ${report.outcome}` : ''}`);
      io.err(`  failed step: ${report.failedStep ?? 'unknown'}`);
      if (report.error) io.err(`  error:       ${report.error}`);
      if (report.cause) io.err(`  cause:       ${report.cause}`);
      io.err(`  execution:   ${executionArn}`);
      return 1;
    }
    await sleep(deps.pollMs ?? 5_000);
  }
}

/** Consecutive failed polls before the command stops following (the restore itself goes on). */
const MAX_FAILED_POLLS = 6;
/** Exit code when the command lost track of a restore that is still running in AWS. */
export const LOST_TRACK_EXIT_CODE = 3;

function describe(sfn: SFNClient, executionArn: string) {
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

async function newEvents(sfn: SFNClient, executionArn: string, after: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: true,
        ...(nextToken !== undefined && { nextToken }),
      }),
    );
    for (const event of page.events ?? []) if ((event.id ?? 0) > after) events.push(event);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

/** Turns history events into one line per step, and remembers what failed. */
class ProgressPrinter {
  private currentStep: string | undefined;
  private outcome: string | undefined;
  private lastError: { error?: string; cause?: string } | undefined;

  constructor(private readonly io: RestoreIo) {}

  add(event: HistoryEvent): void {
    const entered = event.stateEnteredEventDetails?.name;
    if (entered !== undefined) {
      if (STEP_NAMES.has(entered) && entered !== this.currentStep) {
        this.currentStep = entered;
        this.io.out(`[${clock(event.timestamp)}] ${entered}`);
      }
      if (OUTCOME_NAMES.has(entered)) this.outcome = entered;
      return;
    }
    const failure =
      event.taskFailedEventDetails ??
      event.lambdaFunctionFailedEventDetails ??
      event.taskTimedOutEventDetails ??
      event.lambdaFunctionTimedOutEventDetails;
    if (failure !== undefined) {
      this.lastError = { error: failure.error, cause: failure.cause };
      this.io.out(`           ${failure.error ?? 'error'}: ${shortCause(failure.cause)}`);
    }
  }

  report(status: string, error?: string, cause?: string, output?: string): ExecutionReport {
    // The Fail states' causes start with `step "<name>" failed`; a timeout or an abort has none.
    const failedStep = (cause !== undefined && /^step "([^"]+)" failed/.exec(cause)?.[1]) || this.currentStep;
    return {
      status,
      ...(this.outcome !== undefined && { outcome: this.outcome }),
      ...(status !== 'SUCCEEDED' && failedStep !== undefined && { failedStep }),
      ...((error ?? this.lastError?.error) !== undefined && { error: error ?? this.lastError?.error }),
      ...((cause ?? this.lastError?.cause) !== undefined && {
        cause: shortCause(cause ?? this.lastError?.cause),
      }),
      ...(output !== undefined && { output }),
    };
  }
}

function printSuccess(io: RestoreIo, envName: string, output: string | undefined): void {
  let result: {
    snapshot?: { key?: string; bytes?: number };
    install?: { previousData?: string | null };
    keys?: { message?: string; keysNow?: number };
  } = {};
  try {
    result = JSON.parse(output ?? '{}');
  } catch {
    // An output we cannot read: the restore still succeeded.
  }
  io.out(`restored ${envName}${result.snapshot?.key ? ` from ${result.snapshot.key}` : ''}`);
  if (result.keys?.message) io.out(`  keys:          ${result.keys.message}`);
  io.out(
    `  previous data: ${result.install?.previousData ? `/data/${result.install.previousData}/ (see the runbook, "Undo a restore")` : 'none (the data directory was empty)'}`,
  );
}

/** The message of a Lambda error's JSON cause, or the cause itself. */
export function shortCause(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: a plain message.
  }
  return cause;
}

function clock(time: Date | undefined): string {
  return (time ?? new Date()).toISOString().slice(11, 19);
}
