import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/shared/s3-client';
import { UsageError } from '../cli-kit';

/** `--region` and `--profile`, which every command that calls AWS takes. */
export interface AwsFlags {
  readonly region?: string;
  readonly profile?: string;
}

/**
 * The region to call AWS in: `--region`, else the stage's configured region, else what the SDK
 * finds (AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`). `--profile` is applied to the
 * whole process first (AWS_PROFILE), as the AWS CLI's flag does. Without any region this is a
 * usage error that says what to set, instead of the SDK's bare "Region is missing".
 */
export async function awsRegion(flags: AwsFlags, stageRegion?: string): Promise<string> {
  if (flags.profile !== undefined) process.env.AWS_PROFILE = flags.profile;
  const region = flags.region ?? stageRegion;
  if (region !== undefined) return region;
  // Loaded only here: `ops help` must not pay for the SDK.
  const { S3Client } = await import('@aws-sdk/client-s3');
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    const profile = process.env.AWS_PROFILE;
    throw new UsageError(
      profile === undefined
        ? 'no AWS region: add --region <region> (e.g. --region eu-west-1), or set AWS_REGION, or set region in your AWS profile (~/.aws/config)'
        : `no AWS region: the profile '${profile}' has none (or is not in ~/.aws/config): add --region <region> (e.g. --region eu-west-1) or set AWS_REGION`,
    );
  } finally {
    probe.destroy();
  }
}

/**
 * The region to reach `--bucket` in: any for an S3-compatible `--endpoint-url` (emulators ignore
 * it), else AWS's (`awsRegion`).
 */
export function bucketRegion(flags: AwsFlags & { readonly endpointUrl?: unknown }): Promise<string> {
  return flags.endpointUrl === undefined ? awsRegion(flags) : Promise.resolve('us-east-1');
}

/** The S3 client of `--bucket`: AWS S3 in its region, or the `--endpoint-url` emulator. */
export async function bucketClient(flags: AwsFlags & { readonly endpointUrl?: unknown }): Promise<S3Client> {
  const region = await bucketRegion(flags);
  const endpointUrl = flags.endpointUrl as string | undefined;
  return createS3Client({ region, ...(endpointUrl !== undefined && { endpointUrl }) });
}
