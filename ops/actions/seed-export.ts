import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectAclCommand,
  type GetObjectAclCommandOutput,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectAclCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type RdbVerification, RdbVerificationError, RdbVerifier } from '../../lambda/shared/rdb';
import { createS3Client } from '../../lambda/shared/s3-client';
import { parseSnapshotKey } from '../../lambda/shared/snapshots';
import { awsRegion, bucketClient } from '../aws/aws-settings';
import { readStackOutputs, requireOutput, stageStack } from '../aws/stage-stack';
import {
  checkSnapshotChoice,
  formatBytes,
  givenFlags,
  NO_CREDENTIALS,
  type Options,
  placeFlags,
  requireOptions,
  snapshotPrefix,
  terminal,
  UsageError,
} from '../cli-kit';
import { TransferProgress } from '../progress';
import { newestSnapshotKey } from './newest-snapshot';
import { describeS3Error } from './s3-errors';

/**
 * ElastiCache's canonical user id (AWS docs, "Seeding a new cluster with an externally created
 * backup"): outside opt-in regions it reads a seed through an object ACL grant to this id.
 */
export const ELASTICACHE_CANONICAL_ID = '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353';

/** CopyObject copies at most 5 GiB in one request (larger needs UploadPartCopy). */
export const COPY_OBJECT_LIMIT_BYTES = 5 * 1024 ** 3;

/** Where seeds go in the seed bucket: `seeds/<stage>/<YYYYMMDDTHHMMSSZ>.rdb`. */
export const SEED_PREFIX = 'seeds';

/**
 * The seed's object metadata naming the snapshot it was copied from (`x-amz-meta-source-*`):
 * seed keys are named after the snapshot's file name alone, so two snapshots of the same time
 * (e.g. `snapshots/manual/...` and `snapshots/prod/...`) map to the same seed key; this tells them
 * apart, so neither replaces the other.
 */
export const SOURCE_METADATA = {
  bucket: 'source-bucket',
  /** The key, `encodeURI`d (metadata is US-ASCII). */
  key: 'source-key',
  /** Absent for an unversioned source. */
  versionId: 'source-version-id',
  etag: 'source-etag',
} as const;

/** What ElastiCache requires of the seed's encryption: SSE-S3, not KMS. */
const SSE_S3 = 'AES256';

/** The bucket form's own flags, refused with --stage. */
const BUCKET_FORM_FLAGS = ['bucket', 'seed-bucket', 'endpoint-url', 'folder', 'prefix'];

/** The stage form's pointer to the policy that grants what this command needs. */
const POLICY_HINT = "the stage stack's output SeedExportPolicyArn is a managed policy with exactly that";

/** Where the snapshot comes from and where its seed goes. */
interface SeedPlace {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly seedBucket: string;
  readonly key: string;
  /** The seed's folder: the stage's name, or the snapshot's folder in the bucket form. */
  readonly seedFolder: string;
  /** `lib/config/<stage>.ts`, for the next step. */
  readonly configFile: string;
  /** How to name the same source again in a hint (`--stage prod`, `--bucket b --endpoint-url u`). */
  readonly place: string;
  /** An S3-compatible endpoint (an emulator), where ACLs and SSE may be unimplemented. */
  readonly endpointUrl?: string;
}

export async function run(options: Options): Promise<number> {
  checkUsage(options);
  const place = options.stage !== undefined ? await stagePlace(options) : await bucketPlace(options);
  const seedKey = seedKeyOf(place.key, place.seedFolder);
  const seed = await exportSeed(place, seedKey);

  process.stdout.write(
    [
      `seed ready: s3://${place.seedBucket}/${seedKey}`,
      `  from:        s3://${place.bucket}/${place.key}${seed.versionId === undefined ? '' : ` (version ${seed.versionId})`}, ETag ${seed.etag}`,
      `  verified:    RDB format ${seed.verification.rdbVersion}, ${seed.verification.bytes} bytes (${formatBytes(seed.verification.bytes)}), CRC64 ${seed.verification.crc64} verified`,
      `  encryption:  ${seed.encryption}`,
      `  access:      ${seed.access}`,
      '',
      `Next: create the stage's ElastiCache group from it. In ${place.configFile}, the stage's engine gets:`,
      `  seed: '${seedKey}',`,
      'then deploy the stage: docs/elasticache.md, "Switch a stage".',
      '',
    ].join('\n'),
  );
  return 0;
}

/** Usage mistakes, all before anything is called. */
function checkUsage(options: Options): void {
  const noForm = options.stage === undefined && options.bucket === undefined;
  checkSnapshotChoice(
    options,
    noForm
      ? "--stage <stage> (a stage's buckets on AWS) or --bucket <name> and --seed-bucket <name>"
      : undefined,
  );
  if (options.stage !== undefined) {
    const other = givenFlags(options, BUCKET_FORM_FLAGS);
    if (other.length > 0) {
      throw new UsageError(
        `--stage uses the stage's backup and seed buckets on AWS; ${other.join(', ')} apply only to the bucket form (--bucket, --seed-bucket): use one form`,
      );
    }
    stageStack(String(options.stage)); // an unknown stage is a usage error
  } else {
    if (noForm) {
      throw new UsageError(
        "missing --stage <stage> (a stage's buckets on AWS), or --bucket <name> and --seed-bucket <name>",
      );
    }
    requireOptions(options, { bucket: '<name>', 'seed-bucket': '<name>' });
    if (options.latest === true && options.folder === undefined) {
      throw new UsageError(
        `--latest needs --folder <name> with --bucket: the folder to take the newest snapshot from (e.g. dev, manual); list them with: npm run -s ops -- snapshots ${placeFlags(options)}`,
      );
    }
  }
  if (options.snapshot !== undefined) seedFolderOf(String(options.snapshot));
}

/** `--stage`: the buckets from the stage's stack outputs. */
async function stagePlace(options: Options): Promise<SeedPlace> {
  const target = stageStack(String(options.stage));
  const region = await awsRegion(options, target.region);
  const outputs = await readStackOutputs(new CloudFormationClient({ region }), target.stackName);
  const bucket = requireOutput(outputs, 'BackupBucketName', target.stackName);
  const configFile = `lib/config/${target.envName}.ts`;
  const seedBucket = outputs.SeedBucketName;
  if (seedBucket === undefined || seedBucket === '') {
    throw new Error(
      `stack ${target.stackName} has no output SeedBucketName: the stage has no seed bucket yet. Set engine: { kind: 'fargate', seedBucket: true } in ${configFile} and deploy the stage first (docs/elasticache.md, "Switch a stage")`,
    );
  }
  const s3 = createS3Client({ region });
  const place = `--stage ${target.envName}`;
  const key =
    options.snapshot !== undefined
      ? String(options.snapshot)
      : await newestKey(s3, bucket, snapshotPrefix(options), target.envName, place);
  return { s3, bucket, seedBucket, key, seedFolder: target.envName, configFile, place };
}

/** `--bucket` and `--seed-bucket`: AWS S3, or the `--endpoint-url` emulator. */
async function bucketPlace(options: Options): Promise<SeedPlace> {
  const bucket = String(options.bucket);
  const s3 = await bucketClient(options);
  const place = placeFlags(options);
  const key =
    options.snapshot !== undefined
      ? String(options.snapshot)
      : await newestKey(s3, bucket, snapshotPrefix(options), String(options.folder), place);
  return {
    s3,
    bucket,
    seedBucket: String(options.seedBucket),
    key,
    seedFolder: seedFolderOf(key),
    configFile: 'lib/config/<stage>.ts',
    place,
    ...(options.endpointUrl !== undefined && { endpointUrl: String(options.endpointUrl) }),
  };
}

/** The folder of a snapshot key (`snapshots/dev/2026/...` -> `dev`), or a usage error. */
function seedFolderOf(key: string): string {
  const parsed = parseSnapshotKey(key);
  if (parsed === undefined) {
    throw new UsageError(
      `--snapshot ${key} is not a snapshot key: expected <prefix>/<folder>/YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.rdb, as npm run -s ops -- snapshots lists them`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(parsed.stage)) {
    throw new UsageError(
      `--snapshot ${key}: its folder ${JSON.stringify(parsed.stage)} cannot name a seed (letters, digits, '-', '_' or '.')`,
    );
  }
  return parsed.stage;
}

/** `seeds/<folder>/<YYYYMMDDTHHMMSSZ>.rdb`: the snapshot's own file name. */
export function seedKeyOf(snapshotKey: string, folder: string): string {
  return `${SEED_PREFIX}/${folder}/${snapshotKey.slice(snapshotKey.lastIndexOf('/') + 1)}`;
}

/** `--latest`: the newest snapshot of `folder`; a denied listing says which permission is missing. */
function newestKey(
  s3: S3Client,
  bucket: string,
  prefix: string,
  folder: string,
  place: string,
): Promise<string> {
  return newestSnapshotKey({
    s3,
    bucket,
    prefix,
    folder,
    place,
    command: 'seed-export',
    listWhat: 'snapshots',
    describeError: (error) =>
      denied(error)
        ? `listing s3://${bucket}/${prefix}/${folder}/ was denied: --latest needs s3:ListBucket on the bucket; or give --snapshot <key>`
        : describeS3Error(error, { bucket }),
  });
}

interface ExportedSeed {
  readonly verification: RdbVerification;
  readonly etag: string;
  readonly versionId?: string;
  /** What the seed's encryption was found to be, in words. */
  readonly encryption: string;
  /** Who may read the seed, in words. */
  readonly access: string;
}

/** The snapshot version a seed is copied from. */
interface SeedSource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
  readonly etag: string;
}

/**
 * Verifies the snapshot (the whole object, through the RDB verifier), copies exactly that version
 * to the seed key with SSE-S3 (recording the source in the seed's metadata), grants ElastiCache
 * read access, and checks the result. Nothing is written before the snapshot verified, nor over a
 * seed of another snapshot; a seed of this very version is not copied again, only granted and
 * checked again. A seed this run copied that fails its grant or check is removed.
 */
async function exportSeed(place: SeedPlace, seedKey: string): Promise<ExportedSeed> {
  const { s3, bucket, key, seedBucket } = place;
  const source = `s3://${bucket}/${key}`;
  const seed = `s3://${seedBucket}/${seedKey}`;

  // 1. The version to export: its size, ETag and (versioned bucket) version id.
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
    throw new Error(
      denied(error)
        ? `reading ${source} was denied: these credentials need s3:GetObject (and s3:GetObjectVersion) on the backup bucket's snapshots and kms:Decrypt on its key; ${POLICY_HINT}`
        : describeS3Error(error, { bucket, key, place: place.place }),
      { cause: error },
    );
  });
  const size = head.ContentLength ?? 0;
  const etag = head.ETag;
  if (etag === undefined)
    throw new Error(`${source}: S3 returned no ETag, so the copy cannot be pinned to it`);
  const versionId = head.VersionId === undefined || head.VersionId === 'null' ? undefined : head.VersionId;
  if (size > COPY_OBJECT_LIMIT_BYTES) {
    throw new Error(
      `${source} is ${formatBytes(size)}: seed-export copies with CopyObject, which takes at most 5 GiB (this project's Redis holds 512 MB); nothing was written to ${seed}`,
    );
  }
  const from: SeedSource = { bucket, key, versionId, etag };

  // 2. What the seed key holds already: nothing, a seed of this very version, or another's (refused).
  const already = await seedAlready(place, seedKey, from);

  // 3. The whole object through the verifier, pinned to that version.
  terminal.say(`seed-export: verifying ${source} (${formatBytes(size)})`);
  const verification = await verifyObject(place, { etag, versionId, size });

  // 4. The verified version, copied server-side, SSE-S3, only where no seed is (If-None-Match).
  const copied = already !== 'same';
  if (copied) {
    terminal.say(`seed-export: copying the verified version to ${seed} (SSE-S3)`);
    await copySeed(place, seedKey, from, head.Metadata ?? {}, already);
  }

  // 5. ElastiCache's read grant, the owner keeping full control; 6. what ElastiCache will find:
  // the same size, SSE-S3. A seed that fails either is not left behind as if it were usable.
  let access: string;
  let encryption: string;
  try {
    access = await grantElastiCache(place, seedKey);
    encryption = await checkSeed(place, seedKey, size);
  } catch (error) {
    throw await unusableSeed(place, seedKey, error as Error, copied);
  }
  return { verification, etag, ...(versionId !== undefined && { versionId }), encryption, access };
}

/** The seed's metadata for its source (and the snapshot's own metadata, kept). */
function seedMetadata(from: SeedSource, snapshotMetadata: Record<string, string>): Record<string, string> {
  return {
    ...snapshotMetadata,
    [SOURCE_METADATA.bucket]: from.bucket,
    [SOURCE_METADATA.key]: encodeURI(from.key),
    ...(from.versionId !== undefined && { [SOURCE_METADATA.versionId]: from.versionId }),
    [SOURCE_METADATA.etag]: from.etag,
  };
}

/** `s3://bucket/key (version v, ETag e)` of a seed's metadata, or that it names none. */
function recordedSource(metadata: Record<string, string>): string {
  const bucket = metadata[SOURCE_METADATA.bucket];
  const encodedKey = metadata[SOURCE_METADATA.key];
  if (bucket === undefined || encodedKey === undefined) {
    return 'a snapshot it does not name (it has no source metadata: written by an older seed-export or by something else)';
  }
  let key = encodedKey;
  try {
    key = decodeURI(encodedKey);
  } catch {
    // shown as stored
  }
  const version = metadata[SOURCE_METADATA.versionId];
  const etag = metadata[SOURCE_METADATA.etag];
  const details = [
    ...(version === undefined ? [] : [`version ${version}`]),
    ...(etag === undefined ? [] : [`ETag ${etag}`]),
  ];
  return `s3://${bucket}/${key}${details.length === 0 ? '' : ` (${details.join(', ')})`}`;
}

/** What to do about a seed key that holds another snapshot's seed. */
function replaceHint(seed: string, seedKey: string): string {
  return `Keep it if a stage's engine config names it (seed: '${seedKey}') and its group is still to be created; otherwise remove it (aws s3 rm ${seed}) and run seed-export again`;
}

/**
 * HEAD of the seed key, before anything is read or written: `absent`; `same` (a seed of this very
 * version: a rerun); `unknown` when S3 answers 403 (it does so for a missing key without
 * s3:ListBucket on the bucket, which the export policy does not grant): the copy's If-None-Match
 * then keeps it from replacing anything. A seed of another snapshot is refused.
 */
async function seedAlready(
  place: SeedPlace,
  seedKey: string,
  from: SeedSource,
): Promise<'absent' | 'same' | 'unknown'> {
  const { s3, seedBucket } = place;
  const seed = `s3://${seedBucket}/${seedKey}`;
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: seedBucket, Key: seedKey }));
  } catch (error) {
    if (errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey' || status(error) === 404)
      return 'absent';
    if (denied(error)) return 'unknown';
    throw new Error(
      `checking whether ${seed} exists failed: ${describeS3Error(error, { bucket: seedBucket, key: seedKey })}; nothing was written`,
      { cause: error },
    );
  }
  const metadata = head.Metadata ?? {};
  const same =
    metadata[SOURCE_METADATA.bucket] === from.bucket &&
    metadata[SOURCE_METADATA.key] === encodeURI(from.key) &&
    metadata[SOURCE_METADATA.versionId] === from.versionId &&
    metadata[SOURCE_METADATA.etag] === from.etag;
  if (!same) {
    throw new Error(
      `${seed} is already the seed of another snapshot, ${recordedSource(metadata)}, not of s3://${from.bucket}/${from.key}: nothing was written. ${replaceHint(seed, seedKey)}`,
    );
  }
  terminal.say(
    `seed-export: ${seed} is already the seed of this snapshot (this version and ETag): not copied again; granting and checking it again`,
  );
  return 'same';
}

/** CopyObject of the verified version, pinned to its ETag, only where no object is. */
async function copySeed(
  place: SeedPlace,
  seedKey: string,
  from: SeedSource,
  snapshotMetadata: Record<string, string>,
  already: 'absent' | 'unknown',
): Promise<void> {
  const { s3, seedBucket } = place;
  const source = `s3://${from.bucket}/${from.key}`;
  const seed = `s3://${seedBucket}/${seedKey}`;
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: seedBucket,
        Key: seedKey,
        CopySource: copySource(from.bucket, from.key, from.versionId),
        CopySourceIfMatch: from.etag,
        // Never over an existing seed: it may be another snapshot's (see SOURCE_METADATA).
        IfNoneMatch: '*',
        ServerSideEncryption: SSE_S3,
        MetadataDirective: 'REPLACE',
        Metadata: seedMetadata(from, snapshotMetadata),
        // The snapshot's tags are not copied: copying them would need s3:GetObjectTagging and
        // s3:PutObjectTagging, and ElastiCache does not read them.
        TaggingDirective: 'REPLACE',
      }),
    );
  } catch (error) {
    if (errorName(error) === 'ConditionalRequestConflict' || status(error) === 409) {
      throw new Error(
        `another write to ${seed} ran at the same time as the copy: nothing was copied; run seed-export again`,
        { cause: error },
      );
    }
    // Either precondition: the snapshot changed (CopySourceIfMatch) or the seed key exists (If-None-Match).
    if (preconditionFailed(error) && (await sourceUnchanged(place, from))) {
      throw new Error(
        already === 'unknown'
          ? `${seed} exists already (a seed of another snapshot, or of this one: reading it was denied): nothing was written. To tell which, these credentials need s3:GetObject on the seed bucket's seeds/ prefix (${POLICY_HINT}). ${replaceHint(seed, seedKey)}`
          : `${seed} was written by something else while seed-export ran (another seed-export?): nothing was written; run seed-export again`,
        { cause: error },
      );
    }
    throw new Error(describeCopyError(error, source, seed, seedBucket, from.etag), { cause: error });
  }
}

/** The copy's source is still the version and ETag that was verified. */
async function sourceUnchanged(place: SeedPlace, from: SeedSource): Promise<boolean> {
  try {
    const now = await place.s3.send(
      new HeadObjectCommand({
        Bucket: from.bucket,
        Key: from.key,
        ...(from.versionId !== undefined && { VersionId: from.versionId }),
      }),
    );
    return now.ETag === from.etag;
  } catch {
    return false;
  }
}

/**
 * The error for a seed that failed its grant or check. One this run copied is removed (it is not
 * left at the key as if it were usable); one that was there before is left as it is.
 */
async function unusableSeed(
  place: SeedPlace,
  seedKey: string,
  failure: Error,
  copiedNow: boolean,
): Promise<Error> {
  const { s3, seedBucket } = place;
  const seed = `s3://${seedBucket}/${seedKey}`;
  if (!copiedNow) {
    return new Error(
      `${failure.message}; the seed was there before this run and is left as it is: do not use it; fix that and run seed-export again, or remove it (aws s3 rm ${seed})`,
      { cause: failure },
    );
  }
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: seedBucket, Key: seedKey }));
  } catch (error) {
    const why = denied(error)
      ? "DeleteObject was denied: these credentials need s3:DeleteObject on the seed bucket's seeds/ prefix"
      : describeS3Error(error, { bucket: seedBucket, key: seedKey });
    return new Error(
      `${failure.message}; removing the seed failed too (${why}): ${seed} exists and must not be used: remove it with aws s3 rm ${seed} and run seed-export again`,
      { cause: failure },
    );
  }
  return new Error(`${failure.message}; the seed was removed: fix that and run seed-export again`, {
    cause: failure,
  });
}

/** Streams the object (that ETag and version) through the RDB verifier, discarding the bytes. */
async function verifyObject(
  place: SeedPlace,
  pin: { etag: string; versionId: string | undefined; size: number },
): Promise<RdbVerification> {
  const { s3, bucket, key } = place;
  const source = `s3://${bucket}/${key}`;
  const nothing = `nothing was written to s3://${place.seedBucket}`;
  const object = await s3
    .send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        IfMatch: pin.etag,
        ...(pin.versionId !== undefined && { VersionId: pin.versionId }),
      }),
    )
    .catch((error: unknown) => {
      throw new Error(
        preconditionFailed(error)
          ? `${source} changed while seed-export read it: run it again; ${nothing}`
          : describeS3Error(error, { bucket, key, place: place.place }),
        { cause: error },
      );
    });
  const progress = new TransferProgress('seed-export: verify', { bytes: pin.size });
  const verifier = new RdbVerifier();
  const discard = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  try {
    await pipeline(object.Body as Readable, progress.counter(), verifier, discard);
  } catch (error) {
    terminal.clearProgress();
    if (error instanceof RdbVerificationError) {
      throw new Error(
        `${source} is not a valid RDB snapshot: ${error.message}; ${nothing}. Pick another snapshot: npm run -s ops -- snapshots ${place.place}`,
        { cause: error },
      );
    }
    throw new Error(`reading ${source} failed: ${(error as Error).message}; ${nothing}`, { cause: error });
  }
  const result = verifier.result;
  if (result === undefined) throw new Error(`${source}: verification did not complete; ${nothing}`);
  terminal.say(
    `seed-export: read ${progress.finish()}; verified: RDB format ${result.rdbVersion}, CRC64 ${result.crc64} ${result.checksum}`,
  );
  if (result.bytes !== pin.size) {
    throw new Error(
      `${source}: read ${result.bytes} bytes, but S3 announced ${pin.size}: run seed-export again; ${nothing}`,
    );
  }
  return result;
}

/** `bucket/key[?versionId=...]`, URL-encoded as CopyObject expects it. */
export function copySource(bucket: string, key: string, versionId: string | undefined): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`;
}

/**
 * Owner FULL_CONTROL, ElastiCache READ and READ_ACP ("Open/Download and View permissions"),
 * then read back. Returns the access in words.
 */
async function grantElastiCache(place: SeedPlace, seedKey: string): Promise<string> {
  const { s3, seedBucket } = place;
  const seed = `s3://${seedBucket}/${seedKey}`;
  const unreadable = "so ElastiCache's read grant is not set";
  const aclError = (error: unknown, action: string) =>
    new Error(
      denied(error)
        ? `${action} on ${seed} was denied: these credentials need s3:${action} on the seed bucket's seeds/ prefix (${POLICY_HINT}), ${unreadable}`
        : `${action} on ${seed} failed: ${describeS3Error(error, { bucket: seedBucket, key: seedKey })}, ${unreadable}`,
      { cause: error },
    );
  let before: GetObjectAclCommandOutput;
  try {
    before = await s3.send(new GetObjectAclCommand({ Bucket: seedBucket, Key: seedKey }));
  } catch (error) {
    throw aclError(error, 'GetObjectAcl');
  }
  const owner = before.Owner?.ID;
  if (owner === undefined) throw new Error(`GetObjectAcl on ${seed} named no owner, ${unreadable}`);
  try {
    await s3.send(
      new PutObjectAclCommand({
        Bucket: seedBucket,
        Key: seedKey,
        AccessControlPolicy: {
          Owner: { ID: owner },
          Grants: [
            { Grantee: { Type: 'CanonicalUser', ID: owner }, Permission: 'FULL_CONTROL' },
            { Grantee: { Type: 'CanonicalUser', ID: ELASTICACHE_CANONICAL_ID }, Permission: 'READ' },
            { Grantee: { Type: 'CanonicalUser', ID: ELASTICACHE_CANONICAL_ID }, Permission: 'READ_ACP' },
          ],
        },
      }),
    );
  } catch (error) {
    if (place.endpointUrl !== undefined && errorName(error) === 'NotImplemented') {
      terminal.say(
        `seed-export: warning: ${place.endpointUrl} does not implement object ACLs: the seed has no grant for ElastiCache (AWS S3 has them; fine for a local rehearsal)`,
      );
      return 'not granted: the endpoint does not implement object ACLs';
    }
    throw aclError(error, 'PutObjectAcl');
  }
  let after: GetObjectAclCommandOutput;
  try {
    after = await s3.send(new GetObjectAclCommand({ Bucket: seedBucket, Key: seedKey }));
  } catch (error) {
    throw aclError(error, 'GetObjectAcl');
  }
  const has = (id: string, permission: string) =>
    (after.Grants ?? []).some((grant) => grant.Grantee?.ID === id && grant.Permission === permission);
  const missing = [
    ...(has(owner, 'FULL_CONTROL') ? [] : ['owner FULL_CONTROL']),
    ...(has(ELASTICACHE_CANONICAL_ID, 'READ') ? [] : ['ElastiCache READ']),
    ...(has(ELASTICACHE_CANONICAL_ID, 'READ_ACP') ? [] : ['ElastiCache READ_ACP']),
  ];
  if (missing.length > 0) {
    throw new Error(`the ACL of ${seed} lacks ${missing.join(', ')} after PutObjectAcl`);
  }
  return `ElastiCache (canonical id ${ELASTICACHE_CANONICAL_ID}) READ and READ_ACP; owner FULL_CONTROL`;
}

/** HeadObject of the seed: the source's size, SSE-S3. Returns the encryption in words. */
async function checkSeed(place: SeedPlace, seedKey: string, size: number): Promise<string> {
  const { s3, seedBucket } = place;
  const seed = `s3://${seedBucket}/${seedKey}`;
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: seedBucket, Key: seedKey }));
  } catch (error) {
    throw new Error(
      denied(error)
        ? `reading the seed ${seed} back was denied: these credentials need s3:GetObject on the seed bucket's seeds/ prefix (${POLICY_HINT})`
        : `reading the seed ${seed} back failed: ${describeS3Error(error, { bucket: seedBucket, key: seedKey })}`,
      { cause: error },
    );
  }
  if (head.ContentLength !== size) {
    throw new Error(`the seed ${seed} has ${head.ContentLength ?? '?'} bytes, the snapshot ${size}`);
  }
  const sse = head.ServerSideEncryption;
  if (sse === undefined && place.endpointUrl !== undefined) {
    terminal.say(
      `seed-export: warning: ${place.endpointUrl} does not report server-side encryption: AES256 was asked for but is not confirmed (AWS S3 reports it)`,
    );
    return 'SSE-S3 (AES256) asked for; the endpoint does not report encryption';
  }
  if (sse !== SSE_S3) {
    throw new Error(
      `the seed ${seed} is encrypted with ${sse ?? 'nothing reported'}, not SSE-S3 (AES256), which ElastiCache requires`,
    );
  }
  return 'SSE-S3 (AES256)';
}

function describeCopyError(
  error: unknown,
  source: string,
  seed: string,
  seedBucket: string,
  etag: string,
): string {
  if (preconditionFailed(error)) {
    return `${source} changed after it was verified (it is no longer ETag ${etag}): nothing was copied; run seed-export again`;
  }
  if (denied(error)) {
    return `copying ${source} to ${seed} was denied: these credentials need s3:GetObject (and s3:GetObjectVersion) on the snapshot, kms:Decrypt on the backup bucket's key, and s3:PutObject on the seed bucket's seeds/ prefix; ${POLICY_HINT}`;
  }
  const name = errorName(error);
  if (name === 'NoSuchBucket') {
    return `the seed bucket ${seedBucket} does not exist (or not in this region): check --seed-bucket, or the stage's SeedBucketName`;
  }
  const [bucket = '', ...key] = seed.replace(/^s3:\/\//, '').split('/');
  return `copying ${source} to ${seed} failed: ${describeS3Error(error, { bucket, key: key.join('/') })}`;
}

function errorName(error: unknown): string {
  const e = error as { Code?: string; name?: string };
  return e.Code ?? e.name ?? '';
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** Refused for lack of permission (not for missing or bad credentials: describeS3Error says those). */
function denied(error: unknown): boolean {
  const name = errorName(error);
  if (describeS3Error(error, { bucket: '' }) === NO_CREDENTIALS) return false;
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken')
    return false;
  return (
    name === 'AccessDenied' || name === 'Forbidden' || /AccessDenied/.test(name) || status(error) === 403
  );
}

function preconditionFailed(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || status(error) === 412;
}
