import { Option } from 'commander';
import { AWS_ENVIRONMENT, type CommandSpec } from '../command-spec';
import { sharedOptions } from './options';

export const snapshotsCommand: CommandSpec = {
  name: 'snapshots',
  summary: "list the snapshots of a stage's backup bucket, or of any bucket",
  description: [
    "Lists snapshots newest first: key, time, size and key count. With --stage, the stage's backup bucket on AWS (found from its CloudFormation stack), every folder in it. With --bucket, any bucket (e.g. the local emulator), optionally one --folder.",
    'A stage that runs on ElastiCache (its stack outputs Engine = elasticache) has two sources, listed one after the other and marked `source` in --json: `elasticache`, the replication group\'s own snapshots (automatic: one a day in the snapshot window, kept snapshotRetentionDays; manual: taken by hand), with name, time, status, size and kind; and `backup-bucket`, the snapshots in the stage\'s backup bucket, kept from its Fargate days (--folder and --prefix apply to these). Restore on ElastiCache: a new replication group created from one of its snapshots (docs/elasticache.md). Export, and the way back to Fargate (an ElastiCache snapshot exported to S3 and copied into the backup bucket, or a backup-bucket snapshot, restored on Fargate): docs/elasticache.md, "Go back to Fargate". ops seed-export seeds a new group from a backup-bucket snapshot.',
  ].join('\n\n'),
  usage: '(--stage <stage> | --bucket <name> [--folder <name>]) [options]',
  options: [
    new Option(
      '--stage <stage>',
      "a deployed stage (dev, staging, prod): list its backup bucket on AWS, and on an ElastiCache stage its group's snapshots too",
    ),
    new Option('--bucket <name>', 'list this bucket instead'),
    sharedOptions.folder(
      "only this folder under the prefix (a stage's scheduled backups use the stage's name)",
    ),
    sharedOptions.prefix(),
    sharedOptions.endpointUrl(),
    new Option(
      '--json',
      'one JSON object per snapshot instead of the table (on an ElastiCache stage with its source: elasticache or backup-bucket)',
    ),
    sharedOptions.region(),
    sharedOptions.profile(),
  ],
  examples: [
    'npm run -s ops -- snapshots --stage prod',
    "# an ElastiCache stage: its group's snapshots, then its backup bucket's; as JSON lines with their source:",
    'npm run -s ops -- snapshots --stage prod --json',
    'npm run -s ops -- snapshots --bucket redis-backups --folder manual --endpoint-url http://127.0.0.1:9000',
  ],
  environment: AWS_ENVIRONMENT,
  exitCodes: [
    [0, 'listed (also when there is none: "no snapshots" on stderr)'],
    [
      1,
      "the bucket, the stack or ElastiCache's snapshots could not be read (the reason on stderr; what could be read is listed)",
    ],
    [2, 'wrong usage, no AWS region'],
  ],
  load: () => import('../actions/snapshots'),
};
