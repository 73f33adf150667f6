import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';
import { acknowledgeWildcardResource } from './nag';
import { ProjectFunction } from './project-function';
import type { RedisBackup } from './redis-backup';
import { pollStateName, RESTORE_OUTCOMES, RESTORE_STEPS } from './redis-restore-steps';
import type { RedisService } from './redis-service';
import { REDIS_DATA_PATH, REDIS_GID, REDIS_UID } from './redis-storage';
import { addRestoreLogGroup } from './restore-log-group';

/** Where the restore function mounts Redis's data directory (Redis sees it as /data). */
export const RESTORE_MOUNT_PATH = '/mnt/data';

/** Poll loops: interval and number of polls (stop: 6 min, healthy: 15 min). */
export const STOP_POLL = { intervalSeconds: 10, maxPolls: 36 } as const;
export const HEALTHY_POLL = { intervalSeconds: 15, maxPolls: 60 } as const;

export interface RedisRestoreProps {
  /** The Redis service: cluster, service, file system, its security group, monitor secret, key. */
  readonly redis: RedisService;
  /** The backups: the bucket the snapshots are restored from. */
  readonly backup: RedisBackup;
  /** Lower-case stage name. */
  readonly envName: string;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the log groups. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Restore from any snapshot of the backup bucket, as a Step Functions state machine
 * (`npm run -s ops -- restore --stage <stage> --snapshot <key>` starts it):
 *
 *   verify the snapshot (read end to end through the RDB verifier, nothing stored)
 *   -> scale the Redis service to 0 -> wait until NO task runs, is pending or still stopping
 *      (a stopping task may still be saving to EFS)
 *   -> install the snapshot on EFS (a function mounting the file system through its own access
 *      point: old data to pre-restore-<time>/, the snapshot becomes the AOF base Redis loads)
 *   -> scale to 1 -> wait until the task is RUNNING and HEALTHY
 *   -> check the key count Redis loaded against the snapshot's metadata -> Restored.
 *
 * Failure paths (the Fail state's name says how Redis was left, its cause says why):
 * - before Redis is stopped: nothing was changed;
 * - while stopping: scale back to 1 and wait until healthy (Recover);
 * - from the install on: scale to 0, put the previous data back (atomic manifest switch, the
 *   restored data set aside), scale to 1, wait until healthy (Rollback).
 * A second restore refuses to start while one runs. The ECS calls are retried with backoff.
 *
 * IAM is written out here, statement by statement (the state machine's role takes no automatic
 * grants): exact ECS actions on this service / cluster / its tasks, invoke on the three functions.
 */
export class RedisRestore extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly stateMachineRole: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** Reads and verifies a snapshot. */
  public readonly verifyFunction: ProjectFunction;
  /** Installs a snapshot on EFS / puts the previous data back. */
  public readonly restoreFunction: ProjectFunction;
  /** Compares the restored key count with the snapshot's. */
  public readonly checkFunction: ProjectFunction;
  /** The restore function's own access point (same user and root as Redis's). */
  public readonly accessPoint: efs.AccessPoint;
  /** The restore function's security group: NFS to the file system, HTTPS to S3. */
  public readonly restoreSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: RedisRestoreProps) {
    super(scope, id);
    const { redis, backup } = props;
    const network = { vpc: redis.vpc, subnets: redis.subnets };
    const common = {
      kmsKey: redis.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    };
    const snapshotObjects = backup.bucket.arnForObjects(`${DEFAULT_SNAPSHOT_PREFIX}/*`);
    const readSnapshots = new iam.PolicyStatement({
      sid: 'ReadSnapshots',
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [snapshotObjects],
    });
    const snapshotReason =
      'Snapshots have time-stamped keys chosen at restore time; the wildcard is confined to the snapshot prefix of ' +
      "this stage's own backup bucket, and only reading objects (and their versions) is allowed.";

    // 1. Verify: streams the object through the verifier, returns its facts and `keys` metadata.
    this.verifyFunction = new ProjectFunction(this, 'VerifyFunction', {
      ...common,
      handlerFolder: 'restore-verify',
      description: `Redis (${props.envName}) restore: reads a snapshot end to end and verifies it`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      network: { ...network, securityGroup: redis.functionsSecurityGroup },
      environment: {
        STAGE: props.envName,
        BUCKET_NAME: backup.bucket.bucketName,
        SNAPSHOT_PREFIX: DEFAULT_SNAPSHOT_PREFIX,
      },
    });
    this.verifyFunction.role.addToPolicy(readSnapshots);
    // A mistyped key then reads "snapshot not found", not "Access Denied" (S3 hides a missing key
    // from callers that may not list it): listing only this stage's snapshot folder.
    this.verifyFunction.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListThisStagesSnapshots',
        actions: ['s3:ListBucket'],
        resources: [backup.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${backup.snapshotPrefix}*`] } },
      }),
    );
    acknowledgeWildcardResource(this.verifyFunction.role, snapshotObjects, snapshotReason);

    // 2. Install / reinstate on EFS, through an access point of its own: the same user (the image's
    //    redis user) and root as Redis's, so the files it writes are Redis's files.
    this.accessPoint = new efs.AccessPoint(this, 'AccessPoint', {
      fileSystem: redis.fileSystem,
      path: REDIS_DATA_PATH,
      createAcl: { ownerUid: REDIS_UID, ownerGid: REDIS_GID, permissions: '750' },
      posixUser: { uid: REDIS_UID, gid: REDIS_GID },
    });
    this.restoreSecurityGroup = new ec2.SecurityGroup(this, 'RestoreSecurityGroup', {
      vpc: redis.vpc,
      description: 'Redis restore function: NFS (2049) to the Redis file system, HTTPS to S3',
      allowAllOutbound: false,
    });
    this.restoreSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the S3 gateway endpoint',
    );
    this.restoreFunction = new ProjectFunction(this, 'RestoreFunction', {
      ...common,
      handlerFolder: 'restore',
      description: `Redis (${props.envName}) restore: installs a snapshot on EFS, or puts the previous data back`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      network: { ...network, securityGroup: this.restoreSecurityGroup },
      filesystem: new AccessPointMount(this.accessPoint, redis.fileSystem, RESTORE_MOUNT_PATH),
      environment: {
        STAGE: props.envName,
        BUCKET_NAME: backup.bucket.bucketName,
        DATA_DIR: RESTORE_MOUNT_PATH,
      },
    });
    // No reserved concurrency of 1 (it fails to deploy in accounts at the minimum unreserved
    // concurrency); one install at a time is the state machine's guard against a second execution.
    this.restoreFunction.role.addToPolicy(readSnapshots);
    acknowledgeWildcardResource(this.restoreFunction.role, snapshotObjects, snapshotReason);

    // 3. Check: INFO as the monitor user.
    this.checkFunction = new ProjectFunction(this, 'CheckFunction', {
      ...common,
      handlerFolder: 'restore-check',
      description: `Redis (${props.envName}) restore: compares the restored key count with the snapshot's`,
      timeout: Duration.minutes(1),
      network: { ...network, securityGroup: redis.functionsSecurityGroup },
      environment: {
        STAGE: props.envName,
        REDIS_HOST: redis.hostName,
        REDIS_PORT: String(redis.tlsPort ?? redis.port),
        // With TLS: verify Redis with the stage's CA (a public certificate, not a secret).
        ...(redis.caCertificatePem !== undefined && { REDIS_TLS_CA: redis.caCertificatePem }),
        MONITOR_SECRET_ARN: redis.secrets.monitorPassword.secretArn,
      },
    });
    redis.secrets.monitorPassword.grantRead(this.checkFunction.role);

    // The state machine.
    this.logGroup = addRestoreLogGroup(this, {
      envName: props.envName,
      kmsKey: redis.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `Redis (${props.envName}) restore state machine`,
    });
    const definition = new RestoreDefinition(this, 'Definition', {
      redis,
      verify: this.verifyFunction,
      restore: this.restoreFunction,
      check: this.checkFunction,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: `Redis (${props.envName}): restore a snapshot from the backup bucket (npm run -s ops -- restore --stage ${props.envName})`,
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.start),
      // The role's policy is written out below; the tasks' automatic grants are not wanted.
      role: this.stateMachineRole.withoutPolicyUpdates(),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      // Above the worst case of every step's retries and waits (~3 h: verify 3 x 15 min, install,
      // waits for Redis, the undo's retries): a timeout skips the rollback, so it must not come first.
      timeout: Duration.hours(4),
    });
    this.grantStateMachine(redis);
  }

  /** Exactly what the state machine calls, and nothing else. */
  private grantStateMachine(redis: RedisService): void {
    const stack = Stack.of(this);
    const role = this.stateMachineRole;
    const cluster = redis.cluster.clusterArn;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeRestoreFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: [this.verifyFunction, this.restoreFunction, this.checkFunction].map(
          (fn) => fn.function.functionArn,
        ),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ScaleTheRedisService',
        actions: ['ecs:UpdateService'],
        resources: [redis.service.serviceArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListTheClustersTasks',
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': cluster } },
      }),
    );
    const clusterTasks = stack.formatArn({
      service: 'ecs',
      resource: 'task',
      resourceName: `${redis.cluster.clusterName}/*`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeTheClustersTasks',
        actions: ['ecs:DescribeTasks'],
        resources: [clusterTasks],
        conditions: { ArnEquals: { 'ecs:cluster': cluster } },
      }),
    );
    // Log delivery and X-Ray: what Step Functions needs for logging and tracing (AWS documents
    // these actions with Resource "*": they support no resource-level permissions).
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeliverExecutionLogs',
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Tracing',
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    );
    // Its own executions (the guard against two restores at once). A policy of its own: in the
    // role's default policy it would make the state machine depend on itself.
    new iam.Policy(this, 'ListOwnExecutions', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ListOwnExecutions',
          actions: ['states:ListExecutions'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      ],
    });
    acknowledgeWildcardResource(
      role,
      clusterTasks,
      "DescribeTasks names tasks by id, unknown until ECS starts them; the wildcard is confined to the Redis cluster's tasks (and conditioned on ecs:cluster).",
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecs:ListTasks has no resource-level permission for Fargate tasks (AWS documents Resource "*" with the ' +
        'ecs:cluster condition, applied here to the Redis cluster); the CloudWatch Logs delivery and X-Ray actions ' +
        'that Step Functions logging and tracing need support no resource-level permissions either.',
    });
  }
}

/**
 * A Lambda file system on an EFS access point, with the IAM of that access point only:
 * ClientMount and ClientWrite on the file system, on condition of this access point over a mount
 * target. (lambda.FileSystem.fromEfsAccessPoint grants ClientMount on "*" and ClientWrite on the
 * file system through any access point.)
 */
class AccessPointMount extends lambda.FileSystem {
  constructor(accessPoint: efs.AccessPoint, fileSystem: efs.FileSystem, mountPath: string) {
    super({
      localMountPath: mountPath,
      arn: accessPoint.accessPointArn,
      dependency: [fileSystem.mountTargetsAvailable],
      connections: fileSystem.connections,
      policies: [
        new iam.PolicyStatement({
          sid: 'MountThroughTheRestoreAccessPoint',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          resources: [fileSystem.fileSystemArn],
          conditions: {
            StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint.accessPointArn },
            Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
          },
        }),
      ],
    });
  }
}

interface RestoreDefinitionProps {
  readonly redis: RedisService;
  readonly verify: ProjectFunction;
  readonly restore: ProjectFunction;
  readonly check: ProjectFunction;
}

/** JSONata: the message of an error output; for a Lambda error, the errorMessage inside its JSON cause. */
function messageOf(variable: string): string {
  return (
    `($c := ${variable}.Cause; ($type($c) = 'string' and $substring($c, 0, 1) = '{' and $contains($c, '"errorMessage"'))` +
    ` ? $parse($c).errorMessage : $string($c))`
  );
}

/** The restore's states (JSONata, workflow variables). */
class RestoreDefinition extends Construct {
  public readonly start: sfn.IChainable;
  private readonly redis: RedisService;

  constructor(scope: Construct, id: string, props: RestoreDefinitionProps) {
    super(scope, id);
    this.redis = props.redis;
    const S = RESTORE_STEPS;
    const O = RESTORE_OUTCOMES;
    const previousFolder = "'pre-restore-' & $replace($restoreTime, /[-:]|\\.[0-9]+/, '')";
    const failedStepText = `'step "' & $failedStep & '" failed: ' & $failure.Error & ': ' & ${messageOf('$failure')}`;

    // The ends.
    const nothingChanged = sfn.Fail.jsonata(this, O.nothingChanged, {
      error: '{% $failure.Error %}',
      cause: `{% ${failedStepText} & '. Nothing was changed: Redis was not stopped.' %}`,
    });
    const recovered = sfn.Fail.jsonata(this, O.recovered, {
      error: '{% $failure.Error %}',
      cause: `{% ${failedStepText} & '. Nothing was restored: Redis was scaled back to 1 and is healthy on the data it had.' %}`,
    });
    const recoveryFailed = sfn.Fail.jsonata(this, O.recoveryFailed, {
      error: 'RecoveryFailed',
      cause:
        `{% ${failedStepText} & '; then bringing Redis back failed at "' & $rollbackStep & '": ' & ` +
        `${messageOf('$rollbackFailure')} & '. The data was not touched, but Redis may be DOWN: scale the service ` +
        `to 1 (aws ecs update-service --desired-count 1) and watch it.' %}`,
    });
    const rolledBack = sfn.Fail.jsonata(this, O.rolledBack, {
      error: '{% $failure.Error %}',
      cause: `{% ${failedStepText} & '. Rolled back: ' & $reinstated.summary & '; Redis is healthy on it.' %}`,
    });
    const rollbackFailed = sfn.Fail.jsonata(this, O.rollbackFailed, {
      error: 'RollbackFailed',
      cause:
        `{% ${failedStepText} & '; then the rollback failed at "' & $rollbackStep & '": ' & ` +
        `${messageOf('$rollbackFailure')} & '. Redis may be DOWN or running on the restored data. The previous data ` +
        `is in ' & ${previousFolder} & '/ beside appendonlydir on the file system: see the runbook, "Undo a restore".' %}`,
    });

    // The rollback: Redis to 0, previous data back, Redis to 1 and healthy.
    const rollbackCatch = (state: sfn.TaskStateBase, step: string) =>
      state.addCatch(rollbackFailed, {
        assign: { rollbackStep: step, rollbackFailure: '{% $states.errorOutput %}' },
      });
    const rollbackUp = this.scale(S.rollbackScaleUp, 1);
    rollbackCatch(rollbackUp, S.rollbackScaleUp);
    const rollbackHealthy = this.waitUntilHealthy(
      S.rollbackWaitHealthy,
      rolledBack,
      rollbackFailed,
      'rollback',
    );
    rollbackUp.next(rollbackHealthy);
    const reinstate = tasks.LambdaInvoke.jsonata(this, S.rollbackReinstate, {
      lambdaFunction: props.restore.function,
      payload: sfn.TaskInput.fromObject({ action: 'reinstate', restoreTime: '{% $restoreTime %}' }),
      assign: { reinstated: '{% $states.result.Payload %}' },
    });
    // Retried for ~4 minutes: long enough for the lock of an install that died (killed at its
    // timeout) to go stale (120 s without a heartbeat, lambda/restore/restore-lock.ts).
    reinstate.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(30),
      maxAttempts: 4,
      backoffRate: 1.5,
    });
    rollbackCatch(reinstate, S.rollbackReinstate);
    reinstate.next(rollbackUp);
    const rollbackWaitStopped = this.waitUntilStopped(
      S.rollbackWaitStopped,
      reinstate,
      rollbackFailed,
      'rollback',
    );
    const rollbackDown = this.scale(S.rollbackScaleDown, 0);
    rollbackCatch(rollbackDown, S.rollbackScaleDown);
    rollbackDown.next(rollbackWaitStopped);
    const rollback = rollbackDown;

    // The recovery (failed while stopping Redis: the data is untouched): Redis to 1 and healthy.
    const recoverUp = this.scale(S.recoverScaleUp, 1);
    recoverUp.addCatch(recoveryFailed, {
      assign: { rollbackStep: S.recoverScaleUp, rollbackFailure: '{% $states.errorOutput %}' },
    });
    recoverUp.next(this.waitUntilHealthy(S.recoverWaitHealthy, recovered, recoveryFailed, 'rollback'));
    const recover = recoverUp;

    const failTo = (state: sfn.TaskStateBase, step: string, target: sfn.IChainable) =>
      state.addCatch(target, { assign: { failedStep: step, failure: '{% $states.errorOutput %}' } });

    // The main path.
    const guard = tasks.CallAwsService.jsonata(this, S.guard, {
      service: 'sfn',
      action: 'listExecutions',
      iamAction: 'states:ListExecutions',
      iamResources: ['*'], // (not used: the role's policy is explicit)
      parameters: { StateMachineArn: '{% $states.context.StateMachine.Id %}', StatusFilter: 'RUNNING' },
      assign: {
        restoreTime: '{% $states.context.Execution.StartTime %}',
        restoresRunning: '{% $count($states.result.Executions) %}',
        // Every variable a later state reads, so each has a value on every path.
        failedStep: '',
        failure: { Error: '', Cause: '' },
        rollbackStep: '',
        rollbackFailure: { Error: '', Cause: '' },
        snapshot: {},
        installed: {},
        keyCheck: {},
        reinstated: { summary: '' },
        polls: 0,
        taskStatus: '',
      },
    });
    this.retryAwsApi(guard);
    failTo(guard, S.guard, nothingChanged);
    const anotherRuns = sfn.Pass.jsonata(this, pollStateName(S.guard, 'another restore runs'), {
      assign: {
        failedStep: S.guard,
        failure: {
          Error: 'AnotherRestoreRunning',
          Cause:
            'another restore of this Redis is running: wait for it to end first (stopping it by hand skips its rollback)',
        },
      },
    });
    anotherRuns.next(nothingChanged);

    const verify = tasks.LambdaInvoke.jsonata(this, S.verify, {
      lambdaFunction: props.verify.function,
      payload: sfn.TaskInput.fromText('{% $states.context.Execution.Input %}'),
      assign: { snapshot: '{% $states.result.Payload %}' },
    });
    // A failed read (not a refused snapshot) is worth another try.
    verify.addRetry({ errors: ['Error'], interval: Duration.seconds(5), maxAttempts: 2, backoffRate: 2 });
    failTo(verify, S.verify, nothingChanged);

    const scaleDown = this.scale(S.scaleDown, 0);
    failTo(scaleDown, S.scaleDown, recover);

    const install = tasks.LambdaInvoke.jsonata(this, S.install, {
      lambdaFunction: props.restore.function,
      payload: sfn.TaskInput.fromObject({
        action: 'install',
        snapshot: '{% $snapshot %}',
        restoreTime: '{% $restoreTime %}',
      }),
      assign: { installed: '{% $states.result.Payload %}' },
    });
    // Not retried beyond Lambda's service errors: a failed install has left the old data in place,
    // and the rollback (a no-op then) brings Redis back on it.
    failTo(install, S.install, rollback);

    const scaleUp = this.scale(S.scaleUp, 1);
    failTo(scaleUp, S.scaleUp, rollback);

    const check = tasks.LambdaInvoke.jsonata(this, S.checkKeys, {
      lambdaFunction: props.check.function,
      payload: sfn.TaskInput.fromObject({
        expectedKeys: '{% $exists($snapshot.expectedKeys) ? $snapshot.expectedKeys : null %}',
      }),
      assign: { keyCheck: '{% $states.result.Payload %}' },
    });
    // Cloud Map may still be settling right after the task turned healthy.
    check.addRetry({
      errors: ['RedisUnavailable'],
      interval: Duration.seconds(10),
      maxAttempts: 6,
      backoffRate: 1.5,
    });
    failTo(check, S.checkKeys, rollback);

    const restored = sfn.Succeed.jsonata(this, S.restored, {
      outputs: { snapshot: '{% $snapshot %}', install: '{% $installed %}', keys: '{% $keyCheck %}' },
    });

    this.start = guard.next(
      sfn.Choice.jsonata(this, pollStateName(S.guard, 'only this restore?'))
        .when(sfn.Condition.jsonata('{% $restoresRunning > 1 %}'), anotherRuns)
        .otherwise(
          verify.next(
            scaleDown.next(
              this.waitUntilStopped(
                S.waitStopped,
                install.next(
                  scaleUp.next(this.waitUntilHealthy(S.waitHealthy, check.next(restored), rollback, 'main')),
                ),
                recover,
                'main',
              ),
            ),
          ),
        ),
    );
  }

  /** UpdateService desiredCount. */
  private scale(name: string, desiredCount: number): tasks.CallAwsService {
    const task = tasks.CallAwsService.jsonata(this, name, {
      service: 'ecs',
      action: 'updateService',
      iamAction: 'ecs:UpdateService',
      iamResources: [this.redis.service.serviceArn],
      parameters: {
        Cluster: this.redis.cluster.clusterArn,
        Service: this.redis.service.serviceArn,
        DesiredCount: desiredCount,
      },
      outputs: { desiredCount },
    });
    this.retryAwsApi(task);
    return task;
  }

  private listTasks(name: string, desiredStatus: 'RUNNING' | 'STOPPED', assign: Record<string, string>) {
    const task = tasks.CallAwsService.jsonata(this, name, {
      service: 'ecs',
      action: 'listTasks',
      iamAction: 'ecs:ListTasks',
      iamResources: ['*'],
      parameters: {
        Cluster: this.redis.cluster.clusterArn,
        ServiceName: this.redis.service.serviceName,
        DesiredStatus: desiredStatus,
      },
      assign,
    });
    this.retryAwsApi(task);
    return task;
  }

  private describeTasks(name: string, arnsVariable: string, assign: Record<string, string>) {
    const task = tasks.CallAwsService.jsonata(this, name, {
      service: 'ecs',
      action: 'describeTasks',
      iamAction: 'ecs:DescribeTasks',
      iamResources: ['*'],
      parameters: { Cluster: this.redis.cluster.clusterArn, Tasks: `{% ${arnsVariable} %}` },
      assign,
    });
    this.retryAwsApi(task);
    return task;
  }

  /** The ECS and Step Functions calls are idempotent: retry throttling and service errors, with backoff. */
  private retryAwsApi(task: tasks.CallAwsService): void {
    task.addRetry({
      errors: [
        'Ecs.ThrottlingException',
        'Ecs.ServerException',
        'Ecs.EcsException',
        'Sfn.ThrottlingException',
        'Sfn.SfnException',
      ],
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    task.addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(5),
      maxAttempts: 2,
      backoffRate: 2,
    });
  }

  /**
   * Loop until no task of the service is running, pending or still stopping: ListTasks
   * (desired RUNNING) must be empty, and every task ListTasks (desired STOPPED) returns must be
   * STOPPED already. Bounded: STOP_POLL.maxPolls polls, then `onTimeout`.
   */
  private waitUntilStopped(
    name: string,
    next: sfn.IChainable,
    onTimeout: sfn.IChainable,
    path: 'main' | 'rollback',
  ): sfn.IChainable {
    const p = (what: string) => pollStateName(name, what);
    const start = sfn.Pass.jsonata(this, name, { assign: { polls: 0, taskStatus: 'not polled yet' } });
    const wait = sfn.Wait.jsonata(this, p('wait'), {
      time: sfn.WaitTime.duration(Duration.seconds(STOP_POLL.intervalSeconds)),
      assign: { polls: '{% $polls + 1 %}' },
    });
    const toRun = this.listTasks(p('list tasks to run'), 'RUNNING', {
      toRun: '{% $count($states.result.TaskArns) %}',
      taskStatus: "{% $string($count($states.result.TaskArns)) & ' task(s) to run' %}",
    });
    const stopping = this.listTasks(p('list stopped tasks'), 'STOPPED', {
      stopped: '{% $states.result.TaskArns %}',
    });
    const describe = this.describeTasks(p('describe stopped tasks'), '$stopped', {
      notStopped: "{% $count($states.result.Tasks[LastStatus != 'STOPPED']) %}",
      taskStatus:
        "{% $exists($states.result.Tasks) ? $join($states.result.Tasks.(LastStatus), ', ') : 'none described' %}",
    });
    const timedOut = this.timedOut(
      p('timed out'),
      name,
      `Redis still had a task running or stopping after ${STOP_POLL.intervalSeconds * STOP_POLL.maxPolls} s`,
      path,
    );
    timedOut.next(onTimeout);
    const again = sfn.Choice.jsonata(this, p('poll again?'))
      .when(sfn.Condition.jsonata(`{% $polls < ${STOP_POLL.maxPolls} %}`), wait)
      .otherwise(timedOut);
    for (const task of [toRun, stopping, describe]) this.catchLoop(task, name, onTimeout, path);
    start.next(wait);
    wait.next(toRun);
    toRun.next(
      sfn.Choice.jsonata(this, p('any task to run?'))
        .when(sfn.Condition.jsonata('{% $toRun > 0 %}'), again)
        .otherwise(stopping),
    );
    stopping.next(
      sfn.Choice.jsonata(this, p('any task stopped?'))
        .when(sfn.Condition.jsonata('{% $count($stopped) = 0 %}'), next)
        .otherwise(describe),
    );
    describe.next(
      sfn.Choice.jsonata(this, p('all stopped?'))
        .when(sfn.Condition.jsonata('{% $notStopped = 0 %}'), next)
        .otherwise(again),
    );
    return start;
  }

  /**
   * Loop until a task of the service is RUNNING and HEALTHY (the container health check: INCR
   * succeeds, so Redis has loaded its data and takes writes). Bounded: HEALTHY_POLL.maxPolls.
   */
  private waitUntilHealthy(
    name: string,
    next: sfn.IChainable,
    onTimeout: sfn.IChainable,
    path: 'main' | 'rollback',
  ): sfn.IChainable {
    const p = (what: string) => pollStateName(name, what);
    const start = sfn.Pass.jsonata(this, name, { assign: { polls: 0, taskStatus: 'no task yet' } });
    const wait = sfn.Wait.jsonata(this, p('wait'), {
      time: sfn.WaitTime.duration(Duration.seconds(HEALTHY_POLL.intervalSeconds)),
      assign: { polls: '{% $polls + 1 %}' },
    });
    const running = this.listTasks(p('list running tasks'), 'RUNNING', {
      running: '{% $states.result.TaskArns %}',
    });
    const describe = this.describeTasks(p('describe running tasks'), '$running', {
      healthy: "{% $count($states.result.Tasks[LastStatus = 'RUNNING' and HealthStatus = 'HEALTHY']) %}",
      taskStatus:
        "{% $exists($states.result.Tasks) ? $join($states.result.Tasks.(LastStatus & '/' & HealthStatus), ', ') : 'none described' %}",
    });
    const timedOut = this.timedOut(
      p('timed out'),
      name,
      `Redis was not RUNNING and HEALTHY after ${HEALTHY_POLL.intervalSeconds * HEALTHY_POLL.maxPolls} s`,
      path,
    );
    timedOut.next(onTimeout);
    const again = sfn.Choice.jsonata(this, p('poll again?'))
      .when(sfn.Condition.jsonata(`{% $polls < ${HEALTHY_POLL.maxPolls} %}`), wait)
      .otherwise(timedOut);
    for (const task of [running, describe]) this.catchLoop(task, name, onTimeout, path);
    start.next(wait);
    wait.next(running);
    running.next(
      sfn.Choice.jsonata(this, p('any task running?'))
        .when(sfn.Condition.jsonata('{% $count($running) = 0 %}'), again)
        .otherwise(describe),
    );
    describe.next(
      sfn.Choice.jsonata(this, p('healthy?'))
        .when(sfn.Condition.jsonata('{% $healthy > 0 %}'), next)
        .otherwise(again),
    );
    return start;
  }

  /** The step's failure (on the main path) or the rollback's (on a recovery path), then `target`. */
  private catchLoop(
    task: tasks.CallAwsService,
    step: string,
    target: sfn.IChainable,
    path: 'main' | 'rollback',
  ): void {
    task.addCatch(target, {
      assign:
        path === 'main'
          ? { failedStep: step, failure: '{% $states.errorOutput %}' }
          : { rollbackStep: step, rollbackFailure: '{% $states.errorOutput %}' },
    });
  }

  private timedOut(id: string, step: string, message: string, path: 'main' | 'rollback'): sfn.Pass {
    const failure = {
      Error: 'Timeout',
      Cause: `{% '${message} (last seen: ' & $taskStatus & ')' %}`,
    };
    return sfn.Pass.jsonata(this, id, {
      assign:
        path === 'main' ? { failedStep: step, failure } : { rollbackStep: step, rollbackFailure: failure },
    });
  }
}
