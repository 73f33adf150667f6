import { Option } from 'commander';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';
import { httpUrl } from '../cli-kit';

/** Options several commands share, explained the same way everywhere. */
export const sharedOptions = {
  region: () =>
    new Option(
      '--region <region>',
      "AWS region (default: the stage's configured region, then AWS_REGION or the profile's)",
    ),
  profile: () =>
    new Option('--profile <name>', 'AWS profile to use (default: AWS_PROFILE, then the default chain)'),
  endpointUrl: () =>
    new Option(
      '--endpoint-url <url>',
      'an S3-compatible endpoint instead of AWS S3, e.g. http://127.0.0.1:9000 (npm run s3:local)',
    ).argParser(httpUrl),
  prefix: () =>
    new Option(
      '--prefix <prefix>',
      `key prefix of the snapshots in the bucket (default: ${DEFAULT_SNAPSHOT_PREFIX})`,
    ),
  allowNoChecksum: () =>
    new Option(
      '--allow-no-checksum',
      'accept an RDB without a checksum (all-zero trailer: a Redis run with rdbchecksum no); only its framing is checked',
    ),
  caFile: () =>
    new Option(
      '--ca-file <path>',
      "with a rediss:// URL: the CA certificate (PEM) to verify Redis with, e.g. the stage's ca-bundle parameter or redis:local's <data-dir>/tls/ca.crt (default: the system's trust store)",
    ),
  /** The snapshot folder under the prefix: a stage's scheduled backups use the stage's name. */
  folder: (description: string) => new Option('--folder <name>', description),
};

export const REDIS_AUTH_ENVIRONMENT = [
  'REDISCLI_AUTH',
  'password of the --redis-url user, as redis-cli reads it (keeps it out of ps and your shell history)',
] as const;
