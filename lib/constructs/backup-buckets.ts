import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';

export interface BackupBucketsProps {
  /** Encrypts the snapshots (the stage key). */
  readonly kmsKey: kms.IKey;
  /** Days a snapshot is kept before its lifecycle expiry. */
  readonly retentionDays: number;
  /** Move snapshots to Glacier Instant Retrieval after this many days. @default never */
  readonly coldStorageAfterDays?: number;
}

/** The snapshot bucket and the bucket of its access logs. */
export interface BackupBuckets {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
}

/**
 * The backup bucket and its access-log bucket, as children `Bucket` and `AccessLogs` of `scope`
 * (the stage's `Backup` construct). Both engines keep them at that path, so that a stage switching
 * between Fargate and ElastiCache keeps its snapshots, with the same logical ids.
 *
 * - Bucket: no public access, TLS only, versioned, KMS-encrypted with the stage key (bucket key on),
 *   owner-enforced, access-logged; snapshots expire after the stage's retention, older versions a
 *   week later, unfinished multipart uploads after a day. ALWAYS retained on stack deletion: a stack
 *   operation must never delete backups (the lifecycle rules do that, on schedule).
 */
export function addBackupBuckets(scope: Construct, props: BackupBucketsProps): BackupBuckets {
  const accessLogs = new s3.Bucket(scope, 'AccessLogs', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    encryption: s3.BucketEncryption.S3_MANAGED, // S3 server access logging cannot write to SSE-KMS buckets
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(365) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(accessLogs).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This is the server access log bucket of the backup bucket; logging it into itself would loop.',
  });

  const bucket = new s3.Bucket(scope, 'Bucket', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: true,
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: props.kmsKey,
    bucketKeyEnabled: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'backup-bucket/',
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [
      {
        id: 'ExpireSnapshots',
        prefix: `${DEFAULT_SNAPSHOT_PREFIX}/`,
        expiration: Duration.days(props.retentionDays),
        noncurrentVersionExpiration: Duration.days(7),
        ...(props.coldStorageAfterDays !== undefined && {
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(props.coldStorageAfterDays),
            },
          ],
        }),
      },
      { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
    ],
  });
  return { bucket, accessLogs };
}
