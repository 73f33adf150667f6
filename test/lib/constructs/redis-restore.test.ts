import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HEALTHY_POLL, STOP_POLL } from '../../../lib/constructs/redis-restore';
import { RESTORE_OUTCOMES, RESTORE_STEPS } from '../../../lib/constructs/redis-restore-steps';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { caCertificateRef, logicalId, STAGES, type SynthesizedApp, synthesize } from '../synth';

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Condition: string; Next: string }[];
  Catch?: { ErrorEquals: string[]; Next: string; Assign?: Record<string, unknown> }[];
  Retry?: {
    ErrorEquals: string[];
    IntervalSeconds?: number;
    MaxAttempts?: number;
    BackoffRate?: number;
    MaxDelaySeconds?: number;
  }[];
  Resource?: string;
  Arguments?: Record<string, unknown>;
  Assign?: Record<string, unknown>;
  Seconds?: number;
  Error?: string;
  Cause?: string;
}
interface Asl {
  StartAt: string;
  QueryLanguage?: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

/** The state machine's definition, its CloudFormation references written as `@Ref(Id)` / `@GetAtt(Id.Attr)`. */
function definitionOf(template: Template): Asl {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
    Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } };
  }[];
  const parts = machine?.Properties.DefinitionString['Fn::Join'][1] ?? [];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (ref.Ref) return `@Ref(${ref.Ref})`;
      if (ref['Fn::GetAtt']) return `@GetAtt(${ref['Fn::GetAtt'].join('.')})`;
      return '@Token';
    })
    .join('');
  return JSON.parse(text);
}

/** States reachable from `from` without taking a Catch, shortest path to `to` (names, in order). */
function pathBetween(asl: Asl, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === to) {
      const path: string[] = [];
      for (let at: string | undefined = name; at !== undefined; at = previous.get(at)) path.unshift(at);
      return path;
    }
    const state = asl.States[name] as AslState;
    const next = [state.Next, state.Default, ...(state.Choices ?? []).map((choice) => choice.Next)];
    for (const target of next) {
      if (target !== undefined && !previous.has(target)) {
        previous.set(target, name);
        queue.push(target);
      }
    }
  }
  return undefined;
}

const STEP_NAMES = new Set<string>(Object.values(RESTORE_STEPS));
const onlySteps = (path: string[] | undefined) => (path ?? []).filter((name) => STEP_NAMES.has(name));

/** The states that belong to a step: the step's own state and its poll loop's (`<step> - ...`). */
function statesOf(asl: Asl, step: string): [string, AslState][] {
  return Object.entries(asl.States).filter(([name]) => name === step || name.startsWith(`${step} - `));
}

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

const S = RESTORE_STEPS;
const O = RESTORE_OUTCOMES;

describe.each(STAGES)('%s/Redis restore', (stageName) => {
  let stack: RedisStack;
  let template: Template;
  let asl: Asl;
  beforeAll(() => {
    stack = synthesized.stage(stageName).redisStack;
    template = synthesized.template(stageName);
    asl = definitionOf(template);
  });

  describe('state machine', () => {
    it('runs the steps in order: verify, stop, wait, install, start, wait healthy, check', () => {
      expect(asl.QueryLanguage).toBe('JSONata');
      expect(asl.StartAt).toBe(S.guard);
      expect(onlySteps(pathBetween(asl, asl.StartAt, S.restored))).toEqual([
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
      expect(asl.States[S.restored]?.Type).toBe('Succeed');
    });

    it('refuses to start while another execution of it runs', () => {
      const guard = asl.States[S.guard] as AslState;
      expect(guard.Resource).toMatch(/:states:::aws-sdk:sfn:listExecutions$/);
      expect(guard.Arguments).toEqual({
        StateMachineArn: '{% $states.context.StateMachine.Id %}',
        StatusFilter: 'RUNNING',
      });
      const path = pathBetween(asl, S.guard, O.nothingChanged) as string[];
      expect(path).toBeDefined();
      const choice = asl.States[path[1] as string] as AslState;
      expect(choice.Choices?.[0]?.Condition).toBe('{% $restoresRunning > 1 %}');
    });

    it('scales the Redis service of this stack to 0 and back to 1 (aws-sdk:ecs:updateService)', () => {
      for (const [step, count] of [
        [S.scaleDown, 0],
        [S.scaleUp, 1],
        [S.rollbackScaleDown, 0],
        [S.rollbackScaleUp, 1],
        [S.recoverScaleUp, 1],
      ] as const) {
        const state = asl.States[step] as AslState;
        expect(state.Resource).toMatch(/:states:::aws-sdk:ecs:updateService$/);
        expect(state.Arguments).toEqual({
          Cluster: `@GetAtt(${logicalId(stack.redis.cluster)}.Arn)`,
          Service: `@Ref(${logicalId(stack.redis.service)})`,
          DesiredCount: count,
        });
      }
    });

    it('waits until no task is running, pending or still stopping, in a bounded poll loop', () => {
      const states = statesOf(asl, S.waitStopped);
      const calls = states.filter(([, state]) => state.Type === 'Task');
      const listed = calls
        .filter(([, state]) => state.Resource?.endsWith('ecs:listTasks'))
        .map(([, state]) => state.Arguments?.DesiredStatus);
      // Desired RUNNING: tasks to run or pending; desired STOPPED: tasks being stopped (or stopped).
      expect(listed.sort()).toEqual(['RUNNING', 'STOPPED']);
      const describe = calls.find(([, state]) => state.Resource?.endsWith('ecs:describeTasks'))?.[1];
      expect(describe?.Assign?.notStopped).toBe(
        "{% $count($states.result.Tasks[LastStatus != 'STOPPED']) %}",
      );
      const wait = states.find(([, state]) => state.Type === 'Wait')?.[1];
      expect(wait?.Seconds).toBe(STOP_POLL.intervalSeconds);
      const again = states.find(([name]) => name.endsWith('poll again?'))?.[1];
      expect(again?.Choices?.[0]?.Condition).toBe(`{% $polls < ${STOP_POLL.maxPolls} %}`);
      // Out of polls: the failure is recorded and Redis is brought back.
      expect(onlySteps(pathBetween(asl, again?.Default as string, O.recovered))).toEqual([
        S.recoverScaleUp,
        S.recoverWaitHealthy,
      ]);
    });

    it('waits until a task is RUNNING and HEALTHY, in a bounded poll loop', () => {
      const states = statesOf(asl, S.waitHealthy);
      const describe = states.find(([, state]) => state.Resource?.endsWith('ecs:describeTasks'))?.[1];
      expect(describe?.Assign?.healthy).toBe(
        "{% $count($states.result.Tasks[LastStatus = 'RUNNING' and HealthStatus = 'HEALTHY']) %}",
      );
      const healthy = states.find(([name]) => name.endsWith('healthy?'))?.[1];
      expect(healthy?.Choices?.[0]).toEqual({ Condition: '{% $healthy > 0 %}', Next: S.checkKeys });
      const wait = states.find(([, state]) => state.Type === 'Wait')?.[1];
      expect(wait?.Seconds).toBe(HEALTHY_POLL.intervalSeconds);
      const again = states.find(([name]) => name.endsWith('poll again?'))?.[1];
      expect(again?.Choices?.[0]?.Condition).toBe(`{% $polls < ${HEALTHY_POLL.maxPolls} %}`);
    });

    it('installs, then checks the key count against the verified snapshot', () => {
      const verify = asl.States[S.verify] as AslState;
      expect(verify.Arguments).toEqual({
        FunctionName: `@GetAtt(${logicalId(stack.restore.verifyFunction.function)}.Arn)`,
        Payload: '{% $states.context.Execution.Input %}',
      });
      expect(verify.Assign).toEqual({ snapshot: '{% $states.result.Payload %}' });
      const install = asl.States[S.install] as AslState;
      expect(install.Arguments).toEqual({
        FunctionName: `@GetAtt(${logicalId(stack.restore.restoreFunction.function)}.Arn)`,
        Payload: { action: 'install', snapshot: '{% $snapshot %}', restoreTime: '{% $restoreTime %}' },
      });
      const check = asl.States[S.checkKeys] as AslState;
      expect(check.Arguments).toEqual({
        FunctionName: `@GetAtt(${logicalId(stack.restore.checkFunction.function)}.Arn)`,
        Payload: { expectedKeys: '{% $exists($snapshot.expectedKeys) ? $snapshot.expectedKeys : null %}' },
      });
      // The folder the old data goes to is named after the execution's start: the undo finds it.
      expect((asl.States[S.guard] as AslState).Assign?.restoreTime).toBe(
        '{% $states.context.Execution.StartTime %}',
      );
    });

    const rollbackSteps: string[] = [
      S.rollbackScaleDown,
      S.rollbackWaitStopped,
      S.rollbackReinstate,
      S.rollbackScaleUp,
      S.rollbackWaitHealthy,
    ];
    const failureCases: [string, string, string[]][] = [
      [S.guard, O.nothingChanged, []],
      [S.verify, O.nothingChanged, []],
      [S.scaleDown, O.recovered, [S.recoverScaleUp, S.recoverWaitHealthy]],
      [S.waitStopped, O.recovered, [S.recoverScaleUp, S.recoverWaitHealthy]],
      ...[S.install, S.scaleUp, S.waitHealthy, S.checkKeys].map((step): [string, string, string[]] => [
        step,
        O.rolledBack,
        rollbackSteps,
      ]),
    ];
    it.each(failureCases)('a failure in "%s" ends in "%s" after %j', (step, outcome, recovery) => {
      const tasks = statesOf(asl, step).filter(([, state]) => state.Type === 'Task');
      expect(tasks.length).toBeGreaterThan(0);
      for (const [, state] of tasks) {
        expect(state.Catch).toHaveLength(1);
        const [catcher] = state.Catch ?? [];
        expect(catcher?.ErrorEquals).toEqual(['States.ALL']);
        expect(catcher?.Assign).toEqual({ failedStep: step, failure: '{% $states.errorOutput %}' });
        expect(onlySteps(pathBetween(asl, catcher?.Next as string, outcome))).toEqual(recovery);
      }
      expect(asl.States[outcome]?.Type).toBe('Fail');
    });

    it('puts the previous data back with the restore function, between stopping and starting Redis', () => {
      const reinstate = asl.States[S.rollbackReinstate] as AslState;
      expect(reinstate.Arguments).toEqual({
        FunctionName: `@GetAtt(${logicalId(stack.restore.restoreFunction.function)}.Arn)`,
        Payload: { action: 'reinstate', restoreTime: '{% $restoreTime %}' },
      });
      expect(reinstate.Retry).toEqual(
        // ~4 minutes of retries: the lock of an install that died goes stale after 120 s.
        expect.arrayContaining([
          expect.objectContaining({
            ErrorEquals: ['States.ALL'],
            IntervalSeconds: 30,
            MaxAttempts: 4,
            BackoffRate: 1.5,
          }),
        ]),
      );
      expect((asl.States[O.rolledBack] as AslState).Cause).toContain('$reinstated.summary');
    });

    it('ends a failed rollback in RollbackFailed, naming the folder that holds the previous data', () => {
      const rollbackSteps = [
        S.rollbackScaleDown,
        S.rollbackWaitStopped,
        S.rollbackReinstate,
        S.rollbackScaleUp,
        S.rollbackWaitHealthy,
      ];
      for (const step of rollbackSteps) {
        for (const [, state] of statesOf(asl, step).filter(([, s]) => s.Type === 'Task')) {
          expect(state.Catch?.[0]).toMatchObject({
            Next: O.rollbackFailed,
            Assign: { rollbackStep: step, rollbackFailure: '{% $states.errorOutput %}' },
          });
        }
      }
      const failed = asl.States[O.rollbackFailed] as AslState;
      expect(failed.Error).toBe('RollbackFailed');
      expect(failed.Cause).toContain("'pre-restore-' & $replace($restoreTime");
      expect(failed.Cause).toContain('Undo a restore');
    });

    it('retries every AWS API call with backoff, and the Lambda steps where a retry can help', () => {
      const apiCalls = Object.entries(asl.States).filter(([, state]) =>
        state.Resource?.includes(':aws-sdk:'),
      );
      expect(apiCalls.length).toBeGreaterThan(10);
      for (const [, state] of apiCalls) {
        expect(state.Retry?.[0]).toMatchObject({
          ErrorEquals: expect.arrayContaining(['Ecs.ThrottlingException', 'Ecs.ServerException']),
          BackoffRate: 2,
          MaxAttempts: 6,
          MaxDelaySeconds: 30,
        });
      }
      const errorsRetried = (step: string) =>
        (asl.States[step]?.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      expect(errorsRetried(S.checkKeys)).toContain('RedisUnavailable');
      expect(errorsRetried(S.checkKeys)).not.toContain('KeyCountMismatch');
      expect(errorsRetried(S.verify)).not.toContain('SnapshotRefused');
      // The install is not retried beyond Lambda's own service errors.
      expect(errorsRetried(S.install).every((error) => error.startsWith('Lambda.'))).toBe(true);
    });

    it('logs every event to a KMS-encrypted log group, is traced, and times out after 4 hours', () => {
      expect(asl.TimeoutSeconds).toBe(14400);
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [
            {
              CloudWatchLogsLogGroup: {
                LogGroupArn: { 'Fn::GetAtt': [logicalId(stack.restore.logGroup), 'Arn'] },
              },
            },
          ],
        },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
      });
      const logGroup = template.toJSON().Resources[logicalId(stack.restore.logGroup)];
      expect(logGroup.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] });
    });

    it('has exactly the IAM it uses: invoke its functions, scale this service, see this cluster’s tasks', () => {
      const role = logicalId(stack.restore.stateMachineRole);
      const statements = statementsOf(template, role);
      const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
      expect(Object.keys(bySid).sort()).toEqual(
        [
          'DeliverExecutionLogs',
          'DescribeTheClustersTasks',
          'InvokeRestoreFunctions',
          'ListOwnExecutions',
          'ListTheClustersTasks',
          'ScaleTheRedisService',
          'Tracing',
        ].sort(),
      );
      const clusterArn = { 'Fn::GetAtt': [logicalId(stack.redis.cluster), 'Arn'] };
      expect(bySid.InvokeRestoreFunctions?.Action).toBe('lambda:InvokeFunction');
      const functionArns = [
        stack.restore.verifyFunction,
        stack.restore.restoreFunction,
        stack.restore.checkFunction,
      ].map((fn) => ({ 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] }));
      expect(bySid.InvokeRestoreFunctions?.Resource).toHaveLength(3);
      expect(bySid.InvokeRestoreFunctions?.Resource).toEqual(expect.arrayContaining(functionArns));
      expect(bySid.ScaleTheRedisService).toMatchObject({
        Action: 'ecs:UpdateService',
        Resource: { Ref: logicalId(stack.redis.service) },
      });
      expect(bySid.ListTheClustersTasks).toMatchObject({
        Action: 'ecs:ListTasks',
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
      });
      expect(bySid.DescribeTheClustersTasks).toMatchObject({
        Action: 'ecs:DescribeTasks',
        Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
      });
      expect(JSON.stringify(bySid.DescribeTheClustersTasks?.Resource)).toContain(':task/');
      expect(bySid.ListOwnExecutions).toMatchObject({
        Action: 'states:ListExecutions',
        Resource: { Ref: logicalId(stack.restore.stateMachine) },
      });
      const actions = statements.flatMap((statement) => [statement.Action].flat());
      expect(actions.filter((action) => action.startsWith('ecs:')).sort()).toEqual([
        'ecs:DescribeTasks',
        'ecs:ListTasks',
        'ecs:UpdateService',
      ]);
      expect(actions.some((action) => action.endsWith('*'))).toBe(false);
    });
  });

  describe('restore function', () => {
    it('mounts the file system at /mnt/data through its own access point (uid 999, gid 1000, /redis)', () => {
      const accessPointId = logicalId(stack.restore.accessPoint);
      expect(accessPointId).not.toBe(logicalId(stack.redis.accessPoint));
      template.hasResourceProperties('AWS::EFS::AccessPoint', {
        FileSystemId: { Ref: logicalId(stack.redis.fileSystem) },
        PosixUser: { Uid: '999', Gid: '1000' },
        RootDirectory: {
          Path: '/redis',
          CreationInfo: { OwnerUid: '999', OwnerGid: '1000', Permissions: '750' },
        },
      });
      const fn = template.toJSON().Resources[logicalId(stack.restore.restoreFunction.function)];
      expect(fn.Properties.FileSystemConfigs).toEqual([
        { Arn: stack.resolve(stack.restore.accessPoint.accessPointArn), LocalMountPath: '/mnt/data' },
      ]);
      expect(fn.Properties.Environment.Variables).toMatchObject({
        DATA_DIR: '/mnt/data',
        BUCKET_NAME: { Ref: logicalId(stack.backup.bucket) },
      });
      expect(fn.Properties.Timeout).toBe(900);
      // It starts only once the mount targets exist.
      expect(JSON.stringify(fn.DependsOn ?? [])).toMatch(/StorageFileSystemEfsMountTarget/);
    });

    it('is admitted by the file system on 2049, from its own security group only', () => {
      const restoreGroup = { 'Fn::GetAtt': [logicalId(stack.restore.restoreSecurityGroup), 'GroupId'] };
      const fileSystemGroup = { 'Fn::GetAtt': [logicalId(stack.redis.fileSystemSecurityGroup), 'GroupId'] };
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: fileSystemGroup,
        SourceSecurityGroupId: restoreGroup,
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
      });
      const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
        (rule) =>
          JSON.stringify((rule as { Properties: { GroupId: unknown } }).Properties.GroupId) ===
          JSON.stringify(fileSystemGroup),
      );
      const sources = ingress.map(
        (rule) =>
          (rule as { Properties: { SourceSecurityGroupId: unknown } }).Properties.SourceSecurityGroupId,
      );
      expect(sources).toEqual(
        expect.arrayContaining([{ 'Fn::GetAtt': [logicalId(stack.redis.redisSecurityGroup), 'GroupId'] }]),
      );
      expect(sources).toHaveLength(2);
      expect(sources).not.toContainEqual({
        'Fn::GetAtt': [logicalId(stack.redis.functionsSecurityGroup), 'GroupId'],
      });
      // Its own egress: HTTPS (S3 gateway endpoint) and NFS to the file system, nothing else.
      const group = template.toJSON().Resources[logicalId(stack.restore.restoreSecurityGroup)];
      expect(group.Properties.SecurityGroupEgress).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ]);
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: restoreGroup,
        DestinationSecurityGroupId: fileSystemGroup,
        FromPort: 2049,
        ToPort: 2049,
      });
      const fn = template.toJSON().Resources[logicalId(stack.restore.restoreFunction.function)];
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([restoreGroup]);
    });

    it('may mount and write only through its access point, and only read snapshots', () => {
      const statements = statementsOf(template, logicalId(stack.restore.restoreFunction.role));
      const efsStatements = statements.filter((statement) =>
        JSON.stringify(statement.Action).includes('elasticfilesystem'),
      );
      expect(efsStatements).toEqual([
        {
          Sid: 'MountThroughTheRestoreAccessPoint',
          Effect: 'Allow',
          Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          Resource: { 'Fn::GetAtt': [logicalId(stack.redis.fileSystem), 'Arn'] },
          Condition: {
            StringEquals: {
              'elasticfilesystem:AccessPointArn': stack.resolve(stack.restore.accessPoint.accessPointArn),
            },
            Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
          },
        },
      ]);
      const s3Statements = statements.filter((statement) => JSON.stringify(statement.Action).includes('s3:'));
      expect(s3Statements).toEqual([
        {
          Sid: 'ReadSnapshots',
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.backup.bucket), 'Arn'] }, '/snapshots/*']],
          },
        },
      ]);
      expect(JSON.stringify(statements)).not.toMatch(/ClientRootAccess|s3:Put|s3:Delete|secretsmanager/);
    });
  });

  describe('verify and check functions', () => {
    it('verify may only read snapshots; check may only read the monitor password', () => {
      const verify = statementsOf(template, logicalId(stack.restore.verifyFunction.role));
      expect(verify.filter((s) => JSON.stringify(s.Action).includes('s3:')).map((s) => s.Action)).toEqual([
        ['s3:GetObject', 's3:GetObjectVersion'],
        's3:ListBucket',
      ]);
      // Listing only this stage's snapshot folder: a mistyped key is then "not found", not a 403.
      expect(verify.find((s) => s.Action === 's3:ListBucket')).toEqual({
        Sid: 'ListThisStagesSnapshots',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [logicalId(stack.backup.bucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': [`snapshots/${stageName.toLowerCase()}/*`] } },
      });
      expect(JSON.stringify(verify)).not.toMatch(/secretsmanager|elasticfilesystem/);
      const check = statementsOf(template, logicalId(stack.restore.checkFunction.role));
      const secrets = check.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
      expect(secrets.map((s) => s.Resource)).toEqual([
        { Ref: logicalId(stack.redis.secrets.monitorPassword) },
      ]);
      expect(JSON.stringify(check)).not.toMatch(/s3:|elasticfilesystem/);
      const fn = template.toJSON().Resources[logicalId(stack.restore.checkFunction.function)];
      expect(fn.Properties.Environment.Variables).toMatchObject({
        // TLS on 6380, verified with the stage CA (the certificate custom resource's attribute).
        REDIS_PORT: '6380',
        REDIS_TLS_CA: caCertificateRef(stack),
        MONITOR_SECRET_ARN: { Ref: logicalId(stack.redis.secrets.monitorPassword) },
      });
    });
  });

  it("logs the state machine under /aws/vendedlogs/states/ (kept out of the account's Logs resource policy)", () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/vendedlogs/states/emailclient-redis-${stageName.toLowerCase()}-restore`,
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: { 'Fn::GetAtt': [logicalId(stack.restore.logGroup), 'Arn'] },
            },
          },
        ],
      }),
    });
  });

  it('exports the state machine ARN for the ops command', () => {
    template.hasOutput('RestoreStateMachineArn', {
      Value: { Ref: logicalId(stack.restore.stateMachine) },
    });
    template.hasOutput('RestoreFunctionName', {
      Value: { Ref: logicalId(stack.restore.restoreFunction.function) },
    });
    template.hasOutput('BackupBucketName', Match.anyValue());
  });
});
