import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { RedisStage } from '../../lib/stages/redis-stage';
import { findings, STAGES, type SynthesizedApp, synthesize } from './synth';

/**
 * cdk-nag 3 runs as a policy-validation plugin registered on the App (bin/app.ts). Its findings land
 * in the cloud assembly's validation-report.json (plugin "AwsSolutions"); an error finding also
 * fails synthesis. Acknowledgements are construct metadata written by Validations.of(x).acknowledge.
 */
/** The stages that rotate their passwords (passwordRotationDays set). */
const ROTATING_STAGES: readonly string[] = ['Staging', 'Prod'];

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

describe.each(STAGES)('cdk-nag AwsSolutions on %s', (stageName) => {
  it('reports no unacknowledged finding, error or warning', () => {
    const stageFindings = findings(synthesized.validationReport(), 'AwsSolutions').filter((line) =>
      line.includes(` @ ${stageName}/`),
    );
    expect(stageFindings).toEqual([]);
  });

  it('acknowledges each finding on one construct, for one rule, with a reason', () => {
    const stage = synthesized.stage(stageName);
    const acknowledged = stage.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
          .filter(([id]) => id.startsWith('Annotation::AwsSolutions-'))
          .map(([id, reason]) => {
            expect(reason.length).toBeGreaterThan(60);
            return `${construct.node.path.slice(stageName.length + 1)} ${id.replace('Annotation::', '')}`;
          }),
      )
      .sort();
    const rotates = ROTATING_STAGES.includes(stageName);
    expect(acknowledged).toEqual(
      [
        // Passwords: unrotated (SMG4 acknowledged) only where the stage does not rotate them (Dev).
        // Where it does, SMG4 is satisfied by the rotation schedules and the rotation brings its own
        // acknowledgements: the rotator's password (not rotated by the function it authenticates);
        // the function's role on "*" twice (ProjectFunction's ENI actions, then
        // secretsmanager:GetRandomPassword: two acknowledgements of one finding), its log streams;
        // the CDK Provider framework's relay function (basic execution policy, invoking any version
        // of the rotation function).
        ...(rotates
          ? [
              'Redis/PasswordRotation/RotatorPassword AwsSolutions-SMG4',
              'Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::*]',
              'Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::*]',
              'Redis/PasswordRotation/Function/Role AwsSolutions-IAM5[Resource::<PasswordRotationFunctionLogs442E8E4C.Arn>]',
              'Redis/PasswordRotation/Provider AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
              'Redis/PasswordRotation/Provider AwsSolutions-IAM5[Resource::<PasswordRotationFunction29009F9E.Arn>:*]',
            ]
          : [
              'Redis/Secrets/RedisPassword AwsSolutions-SMG4',
              'Redis/Secrets/BackupPassword AwsSolutions-SMG4',
              'Redis/Secrets/MonitorPassword AwsSolutions-SMG4',
            ]),
        'Redis/Redis/TaskDefinition AwsSolutions-ECS2',
        'Redis/Redis/TaskDefinition/ExecutionRole AwsSolutions-IAM5[Resource::*]',
        'Redis/Redis/TaskDefinition/TaskRole AwsSolutions-IAM5[Resource::*]',
        // The audit log group's log streams (its logical id is pinned like the stateful resources').
        'Redis/Redis/TaskDefinition/TaskRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<RedisExecAuditLogs6FE19DA4>:*]',
        // TLS: the CA and server certificate secrets (renewed by the certificate function, not by
        // Secrets Manager rotation); the certificate function's log streams, ecs:ListServices (no
        // resource-level permissions, cluster condition) and UpdateService on the stage cluster's
        // services; the CDK Provider framework's relay function (basic execution policy, invoking
        // any version of the certificate function).
        'Redis/Redis/Tls/CaSecret AwsSolutions-SMG4',
        'Redis/Redis/Tls/ServerSecret AwsSolutions-SMG4',
        'Redis/Redis/Tls/Function/Role AwsSolutions-IAM5[Resource::<RedisTlsFunctionLogs93A9932C.Arn>]',
        'Redis/Redis/Tls/Function/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Redis/Tls/Function/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<RedisCluster45B2E7F5>/*]',
        'Redis/Redis/Tls/Provider AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'Redis/Redis/Tls/Provider AwsSolutions-IAM5[Resource::<RedisTlsFunction1FA8915E.Arn>:*]',
        // Backups: the access-log bucket itself, the dead-letter queue itself, the function's ENI
        // actions, its log streams and the snapshots under its own stage's prefix.
        'Redis/Backup/AccessLogs AwsSolutions-S1',
        'Redis/Backup/DeadLetterQueue AwsSolutions-SQS3',
        'Redis/Backup/Function/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Backup/Function/Role AwsSolutions-IAM5[Resource::<BackupFunctionLogs0F5DE4DE.Arn>]',
        `Redis/Backup/Function/Role AwsSolutions-IAM5[Resource::<BackupBucketBC94E555.Arn>/snapshots/${stageName.toLowerCase()}/*]`,
        // Monitoring: the metrics function's ENI actions and its log streams (ProjectFunction).
        'Redis/Monitoring/Function/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Monitoring/Function/Role AwsSolutions-IAM5[Resource::<MonitoringFunctionLogs53232268.Arn>]',
        // The first-data gate: cloudwatch:GetMetricData (no resource-level permissions) and its log
        // streams; the CDK Provider framework's relay function (basic execution policy, invoking any
        // version of the gate function).
        'Redis/Monitoring/FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::*]',
        `Redis/Monitoring/FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:emailclient-redis-${stageName.toLowerCase()}-*]`,
        'Redis/Monitoring/FirstDataGate/Function/Role AwsSolutions-IAM5[Resource::<MonitoringFirstDataGateFunctionLogsB650A87E.Arn>]',
        'Redis/Monitoring/FirstDataGate/Provider AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'Redis/Monitoring/FirstDataGate/Provider AwsSolutions-IAM5[Resource::<MonitoringFirstDataGateFunction69C87832.Arn>:*]',
        // Restore: each function's ENI actions and log streams; the verify and restore functions read
        // snapshots under the bucket's snapshot prefix; the state machine's role: ecs:ListTasks (cluster
        // condition), log delivery and X-Ray on "*", and DescribeTasks on the Redis cluster's tasks.
        'Redis/Restore/VerifyFunction/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Restore/VerifyFunction/Role AwsSolutions-IAM5[Resource::<RestoreVerifyFunctionLogsF08E379D.Arn>]',
        'Redis/Restore/VerifyFunction/Role AwsSolutions-IAM5[Resource::<BackupBucketBC94E555.Arn>/snapshots/*]',
        'Redis/Restore/RestoreFunction/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Restore/RestoreFunction/Role AwsSolutions-IAM5[Resource::<RestoreRestoreFunctionLogs4641029B.Arn>]',
        'Redis/Restore/RestoreFunction/Role AwsSolutions-IAM5[Resource::<BackupBucketBC94E555.Arn>/snapshots/*]',
        'Redis/Restore/CheckFunction/Role AwsSolutions-IAM5[Resource::*]',
        'Redis/Restore/CheckFunction/Role AwsSolutions-IAM5[Resource::<RestoreCheckFunctionLogs862DBBFF.Arn>]',
        'Redis/Restore/StateMachineRole AwsSolutions-IAM5[Resource::*]',
        'Redis/Restore/StateMachineRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<RedisCluster45B2E7F5>/*]',
      ].sort(),
    );
  });
});

describe('cdk-nag is really running', () => {
  it('fails synthesis on a finding nobody acknowledged, naming the rule and the construct', () => {
    let error: unknown;
    try {
      const broken = synthesize({
        beforeSynth: (app) => {
          const stack = (app.node.findChild('Dev') as RedisStage).redisStack;
          const open = new ec2.SecurityGroup(stack, 'DeliberatelyOpen', { vpc: stack.redis.vpc });
          open.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(6379));
          stack.redis.taskDefinition.taskRole.addToPrincipalPolicy(
            new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
          );
        },
      });
      broken.cleanup();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    // The report lists each finding as: message, construct path, "Acknowledge with '<rule id>'".
    expect(message).toMatch(
      /ERROR .*\n\s*Dev\/Redis\/DeliberatelyOpen\/Resource .*\n.*'AwsSolutions::AwsSolutions-EC23'/,
    );
    expect(message).toMatch(
      /ERROR .*\n\s*Dev\/Redis\/Redis\/TaskDefinition\/TaskRole\/DefaultPolicy\/Resource .*\n.*'AwsSolutions::AwsSolutions-IAM5\[Action::s3:\*\]'/,
    );
  });
});
