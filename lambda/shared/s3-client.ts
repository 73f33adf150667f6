import { S3Client } from '@aws-sdk/client-s3';
import { skipPayloadHashOnTrustedChannels } from './unsigned-payload';

export interface S3ClientSettings {
  /**
   * An S3-compatible endpoint (MinIO, s3rver, LocalStack...). Turns on path-style addressing and
   * sends checksums only where the API requires them (emulators store the SDK's default
   * aws-chunked checksum framing inside the object). @default AWS S3
   */
  readonly endpointUrl?: string;
  /** @default AWS_REGION, else us-east-1 */
  readonly region?: string;
  /** @default the standard AWS credential chain */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Abandon a connection attempt after this long. @default 5_000 */
  readonly connectionTimeoutMs?: number;
  /** Abandon one request (one part upload) after this long. @default 120_000 */
  readonly requestTimeoutMs?: number;
  /** SDK attempts per request. @default 3 */
  readonly maxAttempts?: number;
}

/**
 * An S3Client for AWS, or for an S3-compatible server at `endpointUrl`. Uploads over HTTPS or
 * loopback are not hashed for the signature (see unsigned-payload.ts).
 */
export function createS3Client(settings: S3ClientSettings = {}): S3Client {
  const emulator = settings.endpointUrl !== undefined;
  const client = new S3Client({
    region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    maxAttempts: settings.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: settings.connectionTimeoutMs ?? 5_000,
      requestTimeout: settings.requestTimeoutMs ?? 120_000,
      throwOnRequestTimeout: true,
    },
    ...(settings.credentials && { credentials: { ...settings.credentials } }),
    ...(emulator && {
      endpoint: settings.endpointUrl,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });
  skipPayloadHashOnTrustedChannels(client);
  return client;
}
