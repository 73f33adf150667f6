import { NO_CREDENTIALS } from '../cli-kit';

/**
 * What an S3 error means for the person, in one line naming the bucket or object: the SDK's own
 * texts ("The specified key does not exist.", "UnknownError") do not say which, nor what to do.
 */
export function describeS3Error(
  error: unknown,
  where: { bucket: string; key?: string; place?: string },
): string {
  const e = error as Error & { Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? e.name;
  const target = where.key === undefined ? `bucket ${where.bucket}` : `s3://${where.bucket}/${where.key}`;
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(e.message ?? '')) {
    return NO_CREDENTIALS;
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken') {
    return `the AWS credentials were refused (${name}): renew them (aws sso login) or check AWS_PROFILE / --profile`;
  }
  if (name === 'NoSuchKey' || (where.key !== undefined && (name === 'NotFound' || status === 404))) {
    return `${target}: no such snapshot. List the snapshots: npm run -s ops -- snapshots ${where.place ?? `--bucket ${where.bucket}`}`;
  }
  if (name === 'NoSuchBucket' || name === 'NotFound' || status === 404) {
    return `bucket ${where.bucket} does not exist (or not in this region): check --bucket and --region`;
  }
  if (name === 'PermanentRedirect' || status === 301) {
    return `bucket ${where.bucket} is in another region: add --region <the bucket's region>`;
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return `access to ${target} denied: these credentials need s3:ListBucket on the bucket and s3:GetObject/s3:PutObject on its snapshots`;
  }
  return `${target}: ${e.message || name}`;
}
