import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { RESTORE_OUTCOMES, RESTORE_STEPS } from '../../lib/constructs/redis-restore-steps';
import { LOST_TRACK_EXIT_CODE, type RestoreIo, restoreOnAws } from '../../ops/aws/restore';
import { UsageError } from '../../ops/cli-kit';
import { runOps } from '../support/ops-cli';

// The AWS form of `ops restore` against mocked AWS control-plane clients (CloudFormation, Step
// Functions, S3 HEAD/LIST): the flow, the progress it prints, failure, and the prod confirmation.
const S = RESTORE_STEPS;
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:RestoreStateMachine-abc';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:RestoreStateMachine-abc:restore-1';
const BUCKET = 'prod-redis-backupbucket-xyz';
const KEY = 'snapshots/prod/2026/11/25/20261125T020000Z.rdb';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);

/** An io that records what the command printed and answers questions with `answer`. */
function recordingIo(options: { interactive?: boolean; answer?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const questions: string[] = [];
  const io: RestoreIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    interactive: options.interactive ?? false,
    ask: async (question) => {
      questions.push(question);
      return options.answer ?? '';
    },
  };
  return { io, out, err, questions };
}

let nextId = 1;
const at = new Date('2026-11-25T09:00:00Z');
function entered(name: string, type = 'TaskStateEntered'): HistoryEvent {
  return { id: nextId++, type, timestamp: at, stateEnteredEventDetails: { name } } as HistoryEvent;
}
function lambdaFailed(error: string, message: string): HistoryEvent {
  return {
    id: nextId++,
    type: 'LambdaFunctionFailed',
    timestamp: at,
    lambdaFunctionFailedEventDetails: {
      error,
      cause: JSON.stringify({ errorType: error, errorMessage: message, trace: ['at x'] }),
    },
  } as HistoryEvent;
}

/** A stage whose stack has the outputs the command needs. */
function deployedStack(
  stackName = 'Prod-Redis',
  outputs = { BackupBucketName: BUCKET, RestoreStateMachineArn: STATE_MACHINE },
) {
  cfn.on(DescribeStacksCommand, { StackName: stackName }).resolves({
    Stacks: [
      {
        StackName: stackName,
        CreationTime: at,
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: KEY }).resolves({
    ContentLength: 123_456,
    Metadata: { keys: '1500' },
  });
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: at });
}

/** The execution's history as two looks see it: the first while it runs, the second at its end. */
function execution(first: HistoryEvent[], rest: HistoryEvent[], end: Record<string, unknown>) {
  sfn
    .on(GetExecutionHistoryCommand)
    .resolvesOnce({ events: first })
    .resolves({ events: [...first, ...rest] });
  sfn
    .on(DescribeExecutionCommand)
    .resolvesOnce({
      status: 'RUNNING',
      executionArn: EXECUTION,
      stateMachineArn: STATE_MACHINE,
      startDate: at,
    })
    .resolves({ executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: at, ...end });
}

const deps = (io: RestoreIo) => ({
  cfn: new CloudFormationClient({}),
  sfn: new SFNClient({}),
  s3: new S3Client({}),
  io,
  sleep: async () => {},
  pollMs: 0,
  now: () => at,
});

beforeEach(() => {
  cfn.reset();
  sfn.reset();
  s3.reset();
  nextId = 1;
});

describe('restore --stage (AWS form)', () => {
  it('starts the state machine of the stage stack and prints each step until it is restored', async () => {
    deployedStack('Dev-Redis');
    s3.on(HeadObjectCommand).resolves({ ContentLength: 2048, Metadata: { keys: '42' } });
    const poll = [entered(S.guard), entered(S.verify), entered(S.scaleDown)];
    const rest = [
      entered(S.waitStopped, 'PassStateEntered'),
      entered(`${S.waitStopped} - wait`, 'WaitStateEntered'),
      entered(`${S.waitStopped} - list tasks to run`),
      entered(S.install),
      entered(S.scaleUp),
      entered(S.waitHealthy, 'PassStateEntered'),
      entered(`${S.waitHealthy} - wait`, 'WaitStateEntered'),
      entered(S.checkKeys),
      entered(S.restored, 'SucceedStateEntered'),
    ];
    const output = {
      snapshot: { key: 'snapshots/dev/2026/11/25/20261125T020000Z.rdb', bytes: 2048 },
      install: { previousData: 'pre-restore-20261125T090000Z' },
      keys: {
        message: 'Redis loaded 42 keys (0 more had expired); the snapshot had 42 (tolerance 2)',
        keysNow: 43,
      },
    };
    execution(poll, rest, { status: 'SUCCEEDED', output: JSON.stringify(output) });
    const { io, out, err, questions } = recordingIo();

    const code = await restoreOnAws(deps(io), {
      stage: 'dev',
      snapshot: 'snapshots/dev/2026/11/25/20261125T020000Z.rdb',
    });

    expect(code).toBe(0);
    expect(questions).toEqual([]); // dev: no confirmation
    expect(err).toEqual([]);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toMatchObject({
      stateMachineArn: STATE_MACHINE,
      name: expect.stringMatching(/^restore-20261125T090000Z-[0-9a-f]{6}$/),
    });
    expect(JSON.parse(start?.input as string)).toEqual({
      key: 'snapshots/dev/2026/11/25/20261125T020000Z.rdb',
    });
    // One line per step, in order; the poll loops' inner states are not steps.
    const steps = out.filter((line) => /^\[\d\d:\d\d:\d\d\] /.test(line)).map((line) => line.slice(11));
    expect(steps).toEqual([
      S.guard,
      S.verify,
      S.scaleDown,
      S.waitStopped,
      S.install,
      S.scaleUp,
      S.waitHealthy,
      S.checkKeys,
      S.restored,
    ]);
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^restore dev \(stack Dev-Redis\)$/),
        expect.stringMatching(/taken 2026-11-25T02:00:00.000Z, 2.0 KiB, 42 keys/),
        `  execution: ${EXECUTION}`,
        'restored dev from snapshots/dev/2026/11/25/20261125T020000Z.rdb',
        expect.stringMatching(/keys: +Redis loaded 42 keys/),
        expect.stringMatching(/previous data: \/data\/pre-restore-20261125T090000Z\//),
      ]),
    );
  });

  it('exits non-zero on failure, naming the failed step, the error and how Redis was left', async () => {
    deployedStack();
    const cause =
      'step "Check restored key count" failed: KeyCountMismatch: Redis loaded 0 keys: Redis came up EMPTY although the snapshot had 1500 keys. Rolled back: the previous data (pre-restore-20261125T090000Z/) is back in place; Redis is healthy on it.';
    execution(
      [entered(S.guard), entered(S.verify), entered(S.scaleDown), entered(S.install), entered(S.scaleUp)],
      [
        entered(S.checkKeys),
        lambdaFailed(
          'KeyCountMismatch',
          'Redis loaded 0 keys: Redis came up EMPTY although the snapshot had 1500 keys',
        ),
        entered(S.rollbackScaleDown),
        entered(S.rollbackWaitStopped, 'PassStateEntered'),
        entered(S.rollbackReinstate),
        entered(S.rollbackScaleUp),
        entered(S.rollbackWaitHealthy, 'PassStateEntered'),
        entered(RESTORE_OUTCOMES.rolledBack, 'FailStateEntered'),
      ],
      { status: 'FAILED', error: 'KeyCountMismatch', cause },
    );
    const { io, out, err } = recordingIo();

    const code = await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true });

    expect(code).toBe(1);
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/KeyCountMismatch: Redis loaded 0 keys: Redis came up EMPTY/),
        `[09:00:00] ${S.rollbackReinstate}`,
      ]),
    );
    expect(err).toEqual([
      `restore of prod FAILED: ${RESTORE_OUTCOMES.rolledBack}`,
      '  failed step: Check restored key count',
      '  error:       KeyCountMismatch',
      `  cause:       ${cause}`,
      `  execution:   ${EXECUTION}`,
    ]);
  });

  it('reports a timed-out execution with the step it was in', async () => {
    deployedStack();
    execution([entered(S.guard)], [entered(S.verify), entered(S.scaleDown), entered(S.waitStopped)], {
      status: 'TIMED_OUT',
    });
    const { io, err } = recordingIo();
    expect(await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true })).toBe(1);
    expect(err.slice(0, 2)).toEqual(['restore of prod TIMED_OUT', `  failed step: ${S.waitStopped}`]);
  });

  it('rides out a failed poll (throttling, a network blip) and goes on following', async () => {
    deployedStack();
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered(S.guard), entered(S.verify)] });
    sfn.on(DescribeExecutionCommand).rejectsOnce(new Error('ThrottlingException: Rate exceeded')).resolves({
      status: 'SUCCEEDED',
      executionArn: EXECUTION,
      stateMachineArn: STATE_MACHINE,
      startDate: at,
    });
    const { io, err } = recordingIo();
    expect(await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true })).toBe(0);
    expect(err.join('\n')).not.toMatch(/lost track/);
  });

  it('says it lost track (exit 3, the restore goes on in AWS) when polling keeps failing', async () => {
    deployedStack();
    sfn.on(DescribeExecutionCommand).rejects(new Error('ExpiredTokenException: the SSO session expired'));
    const { io, err } = recordingIo();
    expect(await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true })).toBe(
      LOST_TRACK_EXIT_CODE,
    );
    expect(LOST_TRACK_EXIT_CODE).toBe(3);
    expect(err).toEqual([
      'restore: lost track of the restore after 6 failed polls: ExpiredTokenException: the SSO session expired',
      '  the restore itself goes on in AWS; follow it with:',
      `  aws stepfunctions describe-execution --execution-arn ${EXECUTION}`,
    ]);
  });

  describe('confirmation in prod', () => {
    it('asks for the stage name and starts only when it is typed', async () => {
      deployedStack();
      execution([], [entered(S.restored, 'SucceedStateEntered')], { status: 'SUCCEEDED', output: '{}' });
      const confirmed = recordingIo({ interactive: true, answer: 'prod' });
      expect(await restoreOnAws(deps(confirmed.io), { stage: 'prod', snapshot: KEY })).toBe(0);
      expect(confirmed.questions).toEqual(['Type the stage name (prod) to restore it: ']);
      // What will happen was shown before the question.
      expect(confirmed.out.slice(0, 2)).toEqual([
        'restore prod (stack Prod-Redis)',
        `  from:  s3://${BUCKET}/${KEY} (taken 2026-11-25T02:00:00.000Z, 120.6 KiB, 1500 keys)`,
      ]);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });

    it.each([['no'], [''], ['Prod '], ['staging']])('does nothing when the answer is %j', async (answer) => {
      deployedStack();
      const { io, err } = recordingIo({ interactive: true, answer });
      expect(await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY })).toBe(1);
      expect(err).toEqual(['restore: not confirmed, nothing was done']);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('refuses without a terminal unless --yes, before calling AWS', async () => {
      deployedStack();
      const { io } = recordingIo({ interactive: false });
      const attempt = restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY });
      await expect(attempt).rejects.toThrow(UsageError);
      await expect(attempt).rejects.toThrow(/stdin is not a terminal: add --yes/);
      expect(cfn.calls()).toHaveLength(0);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('--yes restores prod without asking', async () => {
      deployedStack();
      execution([], [entered(S.restored, 'SucceedStateEntered')], { status: 'SUCCEEDED', output: '{}' });
      const { io, questions } = recordingIo({ interactive: true, answer: 'never asked' });
      expect(await restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true })).toBe(0);
      expect(questions).toEqual([]);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });
  });

  it('--latest restores the newest snapshot of the stage itself', async () => {
    deployedStack();
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'snapshots/prod/2026/11/24/20261124T020000Z.rdb', Size: 10 },
        { Key: KEY, Size: 12 },
        { Key: 'snapshots/prod/2026/11/23/20261123T020000Z.rdb', Size: 9 },
      ],
    });
    execution([], [entered(S.restored, 'SucceedStateEntered')], { status: 'SUCCEEDED', output: '{}' });
    const { io } = recordingIo();
    expect(await restoreOnAws(deps(io), { stage: 'prod', latest: true, yes: true })).toBe(0);
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({
      Bucket: BUCKET,
      Prefix: 'snapshots/prod/',
    });
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input as string;
    expect(JSON.parse(input)).toEqual({ key: KEY });
  });

  it('stops before Redis is touched when the snapshot does not exist or another restore runs', async () => {
    deployedStack();
    s3.on(HeadObjectCommand, { Key: 'snapshots/prod/nope.rdb' }).rejects(
      Object.assign(new Error('NotFound'), { name: 'NotFound' }),
    );
    const missing = recordingIo();
    expect(
      await restoreOnAws(deps(missing.io), { stage: 'prod', snapshot: 'snapshots/prod/nope.rdb', yes: true }),
    ).toBe(1);
    expect(missing.err[0]).toMatch(
      /there is no snapshot snapshots\/prod\/nope.rdb in s3:\/\/prod-redis-backupbucket-xyz/,
    );

    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${EXECUTION}-other`,
          stateMachineArn: STATE_MACHINE,
          name: 'other',
          status: 'RUNNING',
          startDate: at,
        },
      ],
    });
    const busy = recordingIo();
    expect(await restoreOnAws(deps(busy.io), { stage: 'prod', snapshot: KEY, yes: true })).toBe(1);
    expect(busy.err[0]).toMatch(/another restore of prod is running/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    [
      'Engine = elasticache',
      { Engine: 'elasticache', ReplicationGroupId: 'prod-redis-1a2b', BackupBucketName: BUCKET },
    ],
    ['a ReplicationGroupId output', { ReplicationGroupId: 'prod-redis-1a2b', BackupBucketName: BUCKET }],
  ])('refuses a stage on ElastiCache (%s) in one line, before S3 and Step Functions', async (_, outputs) => {
    deployedStack('Prod-Redis', outputs as never);
    const { io, out, err, questions } = recordingIo({ interactive: true, answer: 'prod' });
    const code = await restoreOnAws(deps(io), { stage: 'prod', latest: true });
    expect(code).toBe(1);
    expect(err).toEqual([
      "restore: stage prod runs on ElastiCache: its backups are ElastiCache's automatic snapshots (npm run -s ops -- snapshots --stage prod), and a restore creates a new replication group from one (docs/elasticache.md); nothing was done",
    ]);
    expect(out).toEqual([]);
    expect(questions).toEqual([]);
    expect(s3.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('says to deploy when the stack has no restore state machine yet', async () => {
    deployedStack('Prod-Redis', { BackupBucketName: BUCKET } as never);
    const { io } = recordingIo();
    await expect(restoreOnAws(deps(io), { stage: 'prod', snapshot: KEY, yes: true })).rejects.toThrow(
      /stack Prod-Redis has no output RestoreStateMachineArn: deploy/,
    );
  });
});

describe('ops restore / snapshots: the command line', () => {
  it.each([
    [
      ['restore', '--stage', 'prod', '--latest'],
      /restoring prod needs a confirmation, and stdin is not a terminal/,
    ],
    [
      ['restore', '--stage', 'prod', '--snapshot', KEY, '--data-dir', '/tmp/x'],
      /--stage restores a stage on AWS; --data-dir apply only to the local form .* use one form/,
    ],
    [
      ['restore', '--bucket', 'b', '--snapshot', 'k', '--data-dir', '/tmp/x', '--yes'],
      /--yes belongs to the AWS form \(--stage <stage>\)/,
    ],
    [['restore', '--stage', 'prod'], /missing --snapshot <key> or --latest/],
    [
      ['restore', '--stage', 'prod', '--snapshot', KEY, '--latest'],
      /give --snapshot <key> or --latest, not both/,
    ],
    [['restore', '--stage', 'moon', '--latest', '--yes'], /unknown stage 'moon': one of dev, staging, prod/],
    [
      ['restore', '--latest'],
      /missing --stage <stage> \(restore a stage on AWS\), or --bucket <name> and --data-dir <dir>/,
    ],
    [['restore', '--bucket', 'b', '--latest'], /missing --data-dir <dir>$/m],
    [
      ['restore', '--bucket', 'b', '--data-dir', '/tmp/x', '--latest'],
      /--latest needs --folder <name> locally/,
    ],
    [['snapshots'], /missing --stage <stage> \(a deployed stage's bucket\) or --bucket <name>/],
    [
      ['snapshots', '--stage', 'prod', '--endpoint-url', 'http://x'],
      /--stage reads the stage's bucket on AWS; --endpoint-url name another one/,
    ],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await runOps(args);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });
});
