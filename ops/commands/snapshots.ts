import { Option } from 'commander';
import { AWS_ENVIRONMENT, type CommandSpec } from '../command-spec';
import { sharedOptions } from './options';

export const snapshotsCommand: CommandSpec = {
  name: 'snapshots',
  summary: "list the snapshots of a stage's backup bucket, or of any bucket",
  description: [
    "Lists snapshots newest first: key, time, size and key count. With --stage, the stage's backup bucket on AWS (found from its CloudFormation stack), every folder in it. With --bucket, any bucket (e.g. the local emulator), optionally one --folder.",
  ].join('\n\n'),
  usage: '(--stage <stage> | --bucket <name> [--folder <name>]) [options]',
  options: [
    new Option('--stage <stage>', 'a deployed stage (dev, staging, prod): list its backup bucket on AWS'),
    new Option('--bucket <name>', 'list this bucket instead'),
    sharedOptions.folder(
      "only this folder under the prefix (a stage's scheduled backups use the stage's name)",
    ),
    sharedOptions.prefix(),
    sharedOptions.endpointUrl(),
    new Option('--json', 'one JSON object per snapshot instead of the table'),
    sharedOptions.region(),
    sharedOptions.profile(),
  ],
  examples: [
    'npm run -s ops -- snapshots --stage prod',
    'npm run -s ops -- snapshots --bucket redis-backups --folder manual --endpoint-url http://127.0.0.1:9000',
  ],
  environment: AWS_ENVIRONMENT,
  exitCodes: [
    [0, 'listed (also when there is none: "no snapshots" on stderr)'],
    [1, 'the bucket or the stack could not be read (the reason on stderr)'],
    [2, 'wrong usage, no AWS region'],
  ],
  load: () => import('../actions/snapshots'),
};
