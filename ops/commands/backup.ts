import { Option } from 'commander';
import { DEFAULT_SNAPSHOT_PREFIX } from '../../lambda/shared/snapshots/snapshot-key';
import { AWS_ENVIRONMENT, type CommandSpec } from '../command-spec';
import { REDIS_AUTH_ENVIRONMENT, sharedOptions } from './options';

export const backupCommand: CommandSpec = {
  name: 'backup',
  summary: 'stream a verified RDB snapshot of a Redis to S3',
  description: [
    'Streams an RDB snapshot of Redis (what `redis-cli --rdb` gets, over the replication protocol) to s3://<bucket>/<prefix>/<folder>/YYYY/MM/DD/<time>.rdb, verifying its CRC64 on the way. The AWS credentials and the bucket are checked before Redis is asked for the dump. Ctrl-C aborts the upload: nothing is left in the bucket. On success, stdout gets one JSON line (key, bytes, crc64, keys).',
    "A stage that runs on ElastiCache is not backed up with this command (ElastiCache refuses SYNC): its backups are ElastiCache's automatic snapshots, listed by `snapshots --stage <stage>`; `backup --stage <stage>` says so and does nothing. It reads the stage's stack for that (its engine and backup function); when it cannot (no AWS region, credentials or network), it still says what to do (exit 2), with a line that the engine could not be checked.",
  ].join('\n\n'),
  usage: '--redis-url <url> --bucket <name> [options]',
  options: [
    new Option(
      '--redis-url <url>',
      'the Redis, as its backup user: rediss://backup@host:6380 (TLS, with --ca-file) or redis://backup@host:6379; required',
    ),
    new Option('--bucket <name>', 'S3 bucket to write to; required'),
    sharedOptions.prefix(),
    sharedOptions
      .folder("folder under the prefix (a stage's scheduled backups use the stage's name)")
      .default('manual'),
    sharedOptions.caFile(),
    sharedOptions.endpointUrl(),
    new Option(
      '--kms-key-id <key>',
      "encrypt the object with this KMS key (default: the bucket's default encryption)",
    ),
    sharedOptions.allowNoChecksum(),
    new Option(
      '--stage <stage>',
      "not a form of backup (the snapshot folder is --folder): on a deployed stage it only says how that stage is backed up; on ElastiCache, by ElastiCache's own snapshots",
    ),
    sharedOptions.region(),
    sharedOptions.profile(),
  ],
  examples: [
    "# a stage's Redis, from a host in its VPC (the password from the stage's secret):",
    'REDISCLI_AUTH=<backup password> npm run -s ops -- backup --redis-url rediss://backup@redis.dev.emailclient.internal:6380 --ca-file ca.pem --bucket <BackupBucketName> --folder dev',
    '# a local Redis (npm run redis:local) to the local S3 emulator (npm run s3:local):',
    `REDISCLI_AUTH=<backup password> npm run -s ops -- backup --redis-url redis://backup@127.0.0.1:6379 --bucket redis-backups --endpoint-url http://127.0.0.1:9000`,
  ],
  environment: [REDIS_AUTH_ENVIRONMENT, ...AWS_ENVIRONMENT],
  exitCodes: [
    [
      0,
      `the snapshot is in S3 and verified (its key on stdout, under ${DEFAULT_SNAPSHOT_PREFIX}/ by default)`,
    ],
    [
      1,
      'the backup failed (the reason on stderr); no object was left behind unless the message says so. Also --stage of a stage that runs on ElastiCache: nothing was done',
    ],
    [
      2,
      "wrong usage, no AWS region. Also --stage of a stage that runs on Fargate (or whose engine could not be checked): it names the stage's backup function",
    ],
    [130, 'interrupted (Ctrl-C): the upload was aborted'],
  ],
  load: () => import('../actions/backup'),
};
