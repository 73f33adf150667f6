import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { caCertificateRef, logicalId, STAGE_CONFIG, STAGES, type SynthesizedApp, synthesize } from '../synth';

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

describe.each(STAGES)('%s/Redis backups', (stageName) => {
  const config = STAGE_CONFIG[stageName];
  let stack: RedisStack;
  let template: Template;
  beforeAll(() => {
    stack = synthesized.stage(stageName).redisStack;
    template = synthesized.template(stageName);
  });

  describe('bucket', () => {
    it('blocks public access, is versioned, KMS-encrypted with the stage key and owner-enforced', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'] },
              },
            },
          ],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'backup-bucket/' }),
      });
    });

    it("expires snapshots after the stage's retention, old versions after 7 days, stale uploads after 1", () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'ExpireSnapshots',
              Prefix: 'snapshots/',
              ExpirationInDays: config.backupRetentionDays,
              NoncurrentVersionExpiration: { NoncurrentDays: 7 },
              Status: 'Enabled',
            }),
            Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
          ]),
        },
      });
    });

    it('denies every request without TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(stack.backup.bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('is retained when the stack is deleted, in every stage (a stack operation never deletes backups)', () => {
      const resources = template.toJSON().Resources as Record<string, { DeletionPolicy?: string }>;
      expect(resources[logicalId(stack.backup.bucket)]?.DeletionPolicy).toBe('Retain');
    });
  });

  describe('function', () => {
    it('runs Node.js 24 in the private subnets, in the functions security group Redis admits', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('streams a verified RDB snapshot'),
        Runtime: 'nodejs24.x',
        Timeout: 900,
        MemorySize: 1024,
        VpcConfig: {
          SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack.redis.functionsSecurityGroup), 'GroupId'] }],
          SubnetIds: Match.anyValue(),
        },
        Environment: {
          Variables: Match.objectLike({
            STAGE: config.envName,
            // TLS on 6380, verified with the stage CA (the certificate custom resource's attribute).
            REDIS_PORT: '6380',
            REDIS_TLS_CA: caCertificateRef(stack),
            SNAPSHOT_PREFIX: 'snapshots',
            BACKUP_SECRET_ARN: { Ref: logicalId(stack.redis.secrets.backupPassword) },
            BUCKET_NAME: { Ref: logicalId(stack.backup.bucket) },
          }),
        },
      });
    });

    it('has no password in its environment', () => {
      const functions = template.findResources('AWS::Lambda::Function');
      expect(JSON.stringify(functions)).not.toMatch(/PASSWORD"\s*:/);
    });

    it("may only put, abort and tag objects under its own stage's prefix", () => {
      const policies = template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalId(stack.backup.function.role) }] },
      });
      const statements = Object.values(policies).flatMap(
        (policy) =>
          (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
            .Statement,
      ) as { Action: string | string[]; Resource: unknown }[];
      const s3Statements = statements.filter((statement) => JSON.stringify(statement.Action).includes('s3:'));
      expect(s3Statements).toEqual([
        {
          Sid: 'WriteSnapshotsOfThisStage',
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectTagging'],
          Resource: {
            'Fn::Join': [
              '',
              [{ 'Fn::GetAtt': [logicalId(stack.backup.bucket), 'Arn'] }, `/snapshots/${config.envName}/*`],
            ],
          },
        },
      ]);
      const secretsStatements = statements.filter((statement) =>
        JSON.stringify(statement.Action).includes('secretsmanager:'),
      );
      expect(secretsStatements.map((statement) => statement.Resource)).toEqual([
        { Ref: logicalId(stack.redis.secrets.backupPassword) },
      ]);
      expect(JSON.stringify(statements)).not.toMatch(/s3:(GetObject|DeleteObject|\*)/);
    });

    it('sends async failures to an encrypted dead-letter queue after 2 retries', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.backup.deadLetterQueue), 'Arn'] } },
        },
      });
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    });
  });

  it('runs on the schedule of the stage config', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `cron(0 ${config.backupStartHourUtc} * * ? *)`,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.backup.deadLetterQueue), 'Arn'] } },
        }),
      ],
    });
  });
});
