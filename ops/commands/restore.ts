import { Option } from 'commander';
import { AWS_ENVIRONMENT, type CommandSpec } from '../command-spec';
import { sharedOptions } from './options';

export const restoreCommand: CommandSpec = {
  name: 'restore',
  summary: "restore a stage's Redis on AWS, or a local data directory, from a snapshot",
  description: [
    "On AWS (--stage): restores the stage's Redis from a snapshot of its backup bucket with the restore state machine: verify, stop Redis, install on EFS, start, check the key count; on a failure the previous data is put back. Shows each step; for prod it asks you to type the stage's name, unless --yes. Needs credentials of the stage's account (see docs/runbook/restore-prod.md). A stage that runs on ElastiCache is refused at once: its backups are ElastiCache's own snapshots (snapshots --stage <stage>), and a restore there creates a new replication group from one (docs/elasticache.md).",
    'Locally (--bucket and --data-dir): installs a snapshot into a Redis data directory (Redis must not run on it) so that Redis, started with appendonly yes, loads exactly that snapshot. Checks the directory, its lock and the snapshot before downloading; verifies the whole snapshot before changing anything; the old data moves to <dir>/pre-restore-<time>/.',
  ].join('\n\n'),
  usage:
    '--stage <stage> (--snapshot <key> | --latest) [--yes]\n       npm run -s ops -- restore --bucket <name> --data-dir <dir> (--snapshot <key> | --latest --folder <name>) [options]',
  options: [
    new Option('--stage <stage>', 'AWS form: the deployed stage to restore (dev, staging, prod)'),
    new Option('--snapshot <key>', "the snapshot's object key, as `snapshots` lists it"),
    new Option('--latest', "the newest snapshot: of the stage's own backups (AWS), or of --folder (local)"),
    new Option(
      '--yes',
      'AWS form: do not ask for the confirmation (prod asks on a terminal, and needs --yes without one)',
    ),
    new Option('--bucket <name>', 'local form: the bucket holding the snapshot'),
    new Option(
      '--data-dir <dir>',
      'local form: the Redis data directory to restore into (created if missing)',
    ),
    sharedOptions.folder('local form: the folder --latest picks from (e.g. dev, manual)'),
    sharedOptions.prefix(),
    sharedOptions.endpointUrl(),
    sharedOptions.allowNoChecksum(),
    sharedOptions.region(),
    sharedOptions.profile(),
  ],
  examples: [
    'npm run -s ops -- snapshots --stage prod',
    'npm run -s ops -- restore --stage prod --snapshot snapshots/prod/2026/11/25/20261125T020000Z.rdb',
    'npm run -s ops -- restore --stage dev --latest --yes',
    '# locally, from the emulator (npm run s3:local), into the directory of npm run redis:local (stopped):',
    'npm run -s ops -- restore --bucket redis-backups --latest --folder manual --data-dir .redis-data --endpoint-url http://127.0.0.1:9000',
  ],
  environment: AWS_ENVIRONMENT,
  exitCodes: [
    [0, 'restored (what was installed, and where the old data went, on stdout)'],
    [
      1,
      'the restore failed or was not confirmed (the message says how Redis and its data were left), or the stage runs on ElastiCache (nothing was done)',
    ],
    [2, 'wrong usage, no AWS region'],
    [3, 'AWS form: lost track of the restore, which goes on in AWS (how to follow it is printed)'],
    [130, 'interrupted (Ctrl-C); locally, the directory was left unchanged'],
  ],
  load: () => import('../actions/restore'),
  renamed: { '--key': '--snapshot' },
};
