import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag';

/** Where `ops seed-export` writes seeds: `seeds/<envName>/<snapshot time>.rdb`. */
export const SEED_PREFIX = 'seeds/';

export interface RedisSeedBucketProps {
  /** Lower-case stage name: the stage's seeds are under `seeds/<envName>/`. */
  readonly envName: string;
  /** The stage's backup bucket (KMS), where the snapshots a seed is copied from live. */
  readonly backupBucket: s3.IBucket;
  /** The stage key (the backup bucket's encryption key). */
  readonly kmsKey: kms.IKey;
  /** The access-log bucket of the backup bucket; the seed bucket logs into it too. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * The bucket a stage's ElastiCache replication group is created from (its seed) (docs/elasticache.md).
 *
 * ElastiCache reads a seed only when it is in the same region, encrypted with SSE-S3 (not KMS), and
 * readable by ElastiCache: through this bucket's policy for the service principal
 * `<region>.elasticache-snapshot.amazonaws.com` (opt-in regions), or through an object ACL grant to
 * ElastiCache's canonical id (other regions), which `ops seed-export` sets on each seed; hence
 * ACLs are allowed here (BucketOwnerPreferred), unlike every other bucket of the stage.
 *
 * - Uploads under `seeds/` must say SSE-S3 (AES256) explicitly; anything else is denied.
 * - ElastiCache may read `seeds/*` and nothing else.
 * - `exportPolicy` lets an operator (attach it to a role) do what `ops seed-export` does, and
 *   nothing else: read the stage's snapshots (and decrypt them through S3), write seeds.
 * - Retained on stack deletion, versioned, TLS only, no public access, access-logged.
 */
export class RedisSeedBucket extends Construct {
  public readonly bucket: s3.Bucket;
  /** The managed policy an operator needs for `ops seed-export --stage <stage>`. */
  public readonly exportPolicy: iam.ManagedPolicy;
  /** `seeds/<envName>/`. */
  public readonly stagePrefix: string;

  constructor(scope: Construct, id: string, props: RedisSeedBucketProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.stagePrefix = `${SEED_PREFIX}${props.envName}/`;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // The object grant to ElastiCache's canonical id needs ACLs; the owner still owns every object.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'seed-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'ExpireOldVersions', noncurrentVersionExpiration: Duration.days(7) },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    const seeds = this.bucket.arnForObjects(`${SEED_PREFIX}*`);
    // AWS's seeding page grants the service GetObject, ListBucket and GetBucketAcl (opt-in regions).
    const elastiCache = new iam.ServicePrincipal(`${stack.region}.elasticache-snapshot.amazonaws.com`);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ElastiCacheReadsSeeds',
        principals: [elastiCache],
        actions: ['s3:GetObject'],
        resources: [seeds],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ElastiCacheListsSeeds',
        principals: [elastiCache],
        actions: ['s3:ListBucket', 's3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SeedsAreSseS3Only',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [seeds],
        conditions: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
      }),
    );

    const snapshots = props.backupBucket.arnForObjects('snapshots/*');
    const stageSeeds = this.bucket.arnForObjects(`${this.stagePrefix}*`);
    this.exportPolicy = new iam.ManagedPolicy(this, 'ExportPolicy', {
      description: `Redis (${props.envName}): ops seed-export (read snapshots, write seeds for ElastiCache)`,
      statements: [
        new iam.PolicyStatement({
          sid: 'FindTheStage',
          actions: ['cloudformation:DescribeStacks'],
          resources: [stack.stackId],
        }),
        new iam.PolicyStatement({
          sid: 'ListSnapshots',
          actions: ['s3:ListBucket'],
          resources: [props.backupBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': ['snapshots/*'] } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadSnapshots',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [snapshots],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptSnapshotsThroughS3',
          actions: ['kms:Decrypt'],
          resources: [props.kmsKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
        }),
        new iam.PolicyStatement({
          sid: 'WriteSeedsOfThisStage',
          actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject', 's3:GetObjectAcl', 's3:DeleteObject'],
          resources: [stageSeeds],
        }),
      ],
    });
    acknowledgeWildcardResource(
      this.exportPolicy,
      snapshots,
      "Snapshots have time-stamped keys; read-only, confined to the backup bucket's snapshots/ prefix.",
    );
    acknowledgeWildcardResource(
      this.exportPolicy,
      stageSeeds,
      "Seeds are named after their snapshot's time; confined to this stage's seeds/<stage>/ prefix.",
    );
  }
}
