import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';
import { addBackupBuckets } from './backup-buckets';
import { acknowledgeWildcardResource } from './nag';
import { ProjectFunction } from './project-function';
import type { RedisService } from './redis-service';

export interface RedisBackupProps {
  /** The Redis service: its VPC, functions security group, backup secret, key and host name. */
  readonly redis: RedisService;
  /** Lower-case stage name: the snapshots' key prefix is `snapshots/<envName>/`. */
  readonly envName: string;
  /** EventBridge schedule expression of the backups, e.g. `cron(0 2 * * ? *)`. */
  readonly schedule: string;
  /** Days a snapshot is kept before its lifecycle expiry. */
  readonly retentionDays: number;
  /** Move snapshots to Glacier Instant Retrieval after this many days. @default never */
  readonly coldStorageAfterDays?: number;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the function's log group (the bucket is always retained). */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Scheduled backups: a Lambda function takes a `redis-cli --rdb` style snapshot over the
 * replication protocol (as the `backup` ACL user) and streams it, verified, into S3.
 *
 * - Bucket: see addBackupBuckets (backup-buckets.ts); always retained.
 * - Function: in the VPC, in the functions security group Redis admits; reaches S3 through the
 *   gateway endpoint and Secrets Manager through its interface endpoint (no NAT). 15 min and
 *   1 GiB for a 512 MB dataset: the stream runs at ~100+ MB/s and memory stays ~200 MiB.
 * - IAM: put/abort/tag objects under `snapshots/<stage>/` only, the key, the backup secret.
 * - Schedule from the stage config; a failed run is retried twice by Lambda, then lands in an
 *   encrypted dead-letter queue (and the monitoring alarms on BackupFailed / missing successes).
 */
export class RedisBackup extends Construct {
  public readonly bucket: s3.Bucket;
  /** The backup bucket's access-log bucket (the seed bucket logs into it too). */
  public readonly accessLogsBucket: s3.Bucket;
  public readonly function: ProjectFunction;
  public readonly deadLetterQueue: sqs.Queue;
  /** Key prefix of this stage's snapshots, with a trailing slash. */
  public readonly snapshotPrefix: string;

  constructor(scope: Construct, id: string, props: RedisBackupProps) {
    super(scope, id);
    const { redis } = props;
    this.snapshotPrefix = `${DEFAULT_SNAPSHOT_PREFIX}/${props.envName}/`;

    const buckets = addBackupBuckets(this, {
      kmsKey: redis.kmsKey,
      retentionDays: props.retentionDays,
      ...(props.coldStorageAfterDays !== undefined && { coldStorageAfterDays: props.coldStorageAfterDays }),
    });
    this.bucket = buckets.bucket;
    this.accessLogsBucket = buckets.accessLogs;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // SQS-managed encryption: the function and EventBridge can send without KMS grants on the key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue IS the dead-letter destination of the backup function; it needs none of its own.',
    });

    this.function = new ProjectFunction(this, 'Function', {
      handlerFolder: 'backup',
      description: `Redis (${props.envName}): streams a verified RDB snapshot to S3`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      network: { vpc: redis.vpc, subnets: redis.subnets, securityGroup: redis.functionsSecurityGroup },
      kmsKey: redis.kmsKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      environment: {
        STAGE: props.envName,
        REDIS_HOST: redis.hostName,
        REDIS_PORT: String(redis.tlsPort ?? redis.port),
        // With TLS: verify Redis with the stage's CA (a public certificate, not a secret).
        ...(redis.caCertificatePem !== undefined && { REDIS_TLS_CA: redis.caCertificatePem }),
        BACKUP_SECRET_ARN: redis.secrets.backupPassword.secretArn,
        BUCKET_NAME: this.bucket.bucketName,
        SNAPSHOT_PREFIX: DEFAULT_SNAPSHOT_PREFIX,
        KMS_KEY_ID: redis.kmsKey.keyArn,
      },
    });
    const role = this.function.role;
    const snapshotObjects = this.bucket.arnForObjects(`${this.snapshotPrefix}*`);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteSnapshotsOfThisStage',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectTagging'],
        resources: [snapshotObjects],
      }),
    );
    // SSE-KMS multipart uploads need Decrypt as well as GenerateDataKey.
    redis.kmsKey.grant(role, 'kms:GenerateDataKey');
    redis.secrets.backupPassword.grantRead(role);
    acknowledgeWildcardResource(
      role,
      snapshotObjects,
      "Snapshots get time-stamped keys at run time; the wildcard is confined to this stage's prefix, and only put/abort/tag are allowed.",
    );

    new events.Rule(this, 'Schedule', {
      description: `Redis (${props.envName}) backup schedule`,
      schedule: events.Schedule.expression(props.schedule),
      targets: [
        new targets.LambdaFunction(this.function.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
