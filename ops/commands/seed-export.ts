import { Option } from 'commander';
import { AWS_ENVIRONMENT, type CommandSpec } from '../command-spec';
import { sharedOptions } from './options';

export const seedExportCommand: CommandSpec = {
  name: 'seed-export',
  summary: 'copy a verified snapshot into the seed bucket an ElastiCache group is created from',
  description: [
    "Prepares the switch of a stage from Fargate to ElastiCache without losing queued work: streams a snapshot through the RDB verifier (magic, format, EOF opcode, CRC64), then copies exactly the verified version server-side to seeds/<stage>/<time>.rdb in the seed bucket (recording the snapshot's bucket, key, version and ETag in the seed's metadata), encrypted with SSE-S3 (AES256, which ElastiCache requires: not KMS), and grants ElastiCache's canonical user READ and READ_ACP on it (the bucket owner keeps FULL_CONTROL). Then it checks the seed's size and encryption and prints the `seed:` line for the stage's engine config. A snapshot that does not verify is refused and nothing is written. A seed key that already holds another snapshot's seed (the same file name from another folder) is refused and left as it is; the same snapshot again is not copied again, only granted and checked. A seed that fails its grant or check is removed. See docs/runbook/seed-export.md.",
    "With --stage, the stage's backup bucket and seed bucket on AWS (its stack outputs BackupBucketName and SeedBucketName). With --bucket and --seed-bucket, any two buckets (e.g. the local emulator with --endpoint-url).",
  ].join('\n\n'),
  usage:
    '--stage <stage> (--snapshot <key> | --latest) [options]\n       npm run -s ops -- seed-export --bucket <name> --seed-bucket <name> (--snapshot <key> | --latest --folder <name>) [options]',
  options: [
    new Option(
      '--stage <stage>',
      'AWS form: the deployed stage (dev, staging, prod) whose snapshot to export',
    ),
    new Option('--snapshot <key>', "the snapshot's object key, as `snapshots` lists it"),
    new Option(
      '--latest',
      "the newest snapshot: of the stage's own backups (--stage), or of --folder (--bucket)",
    ),
    new Option('--bucket <name>', 'bucket form: the bucket holding the snapshot'),
    new Option('--seed-bucket <name>', 'bucket form: the bucket to write the seed to (under seeds/)'),
    sharedOptions.folder('bucket form: the folder --latest picks from (e.g. dev, manual)'),
    sharedOptions.prefix(),
    sharedOptions.endpointUrl(),
    sharedOptions.region(),
    sharedOptions.profile(),
  ],
  examples: [
    'npm run -s ops -- seed-export --stage prod --latest',
    'npm run -s ops -- seed-export --stage prod --snapshot snapshots/prod/2026/11/30/20261130T020000Z.rdb',
    '# locally, between two buckets of the emulator (npm run s3:local):',
    'npm run -s ops -- seed-export --bucket redis-backups --seed-bucket redis-seeds --latest --folder manual --endpoint-url http://127.0.0.1:9000',
  ],
  environment: AWS_ENVIRONMENT,
  exitCodes: [
    [0, "the seed is written and checked (its key and the engine's seed: line on stdout)"],
    [
      1,
      "refused or failed (the reason on stderr): an invalid snapshot, or a seed key holding another snapshot's seed, writes nothing; a seed that fails its grant or check is removed (the message says so, or how to remove it)",
    ],
    [2, 'wrong usage, no AWS region'],
    [130, 'interrupted (Ctrl-C); before the copy, nothing was written'],
  ],
  load: () => import('../actions/seed-export'),
};
