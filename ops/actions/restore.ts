import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { installSnapshot } from '../../lambda/restore/install-snapshot';
import { createS3Client } from '../../lambda/shared/s3-client';
import { DEFAULT_SNAPSHOT_PREFIX, listSnapshots } from '../../lambda/shared/snapshots';
import { type RestoreIo, restoreOnAws } from '../aws/restore';
import { stageStack } from '../aws/stage-stack';
import { endpointUrlOption, formatBytes, parseOptions, required, UsageError } from '../cli-kit';

export const usage = `restore --stage <stage> (--snapshot <key> | --latest) [--yes]
    On AWS: restores the stage's Redis from a snapshot of its backup bucket with the restore state
    machine (verify, stop Redis, install on EFS, start, check the key count; on failure the previous
    data is put back). Shows each step; asks you to type the stage name for prod unless --yes.
    --latest takes the newest of the stage's own snapshots. List them: snapshots --stage <stage>.
  restore --bucket <name> (--key <key> | --latest) [--prefix <p>] [--stage <s>] --data-dir <dir>
         [--endpoint-url <url>] [--allow-no-checksum]
    Locally: installs a snapshot into a Redis data directory (Redis must not be running on it) so
    that Redis, started with appendonly yes, loads exactly that snapshot. Verifies it completely
    first; the old data moves to <dir>/pre-restore-<time>/. --latest takes the newest snapshot (of
    --stage, if given). --allow-no-checksum accepts a snapshot without a checksum (rdbchecksum no).`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    bucket: { type: 'string' },
    key: { type: 'string' },
    latest: { type: 'boolean', default: false },
    prefix: { type: 'string' },
    stage: { type: 'string' },
    'data-dir': { type: 'string' },
    'endpoint-url': { type: 'string' },
    snapshot: { type: 'string' },
    yes: { type: 'boolean', default: false },
    'allow-no-checksum': { type: 'boolean', default: false },
  });
  const local = (['bucket', 'key', 'data-dir', 'endpoint-url', 'prefix'] as const).filter(
    (name) => values[name] !== undefined,
  );
  if (values['allow-no-checksum'] && (values.bucket === undefined || values['data-dir'] === undefined)) {
    throw new UsageError(
      "--allow-no-checksum goes with the local form (--bucket, --data-dir) only: a stage's Redis always writes a checksum",
    );
  }
  const aws = [...(values.snapshot !== undefined ? ['--snapshot'] : []), ...(values.yes ? ['--yes'] : [])];
  if (local.length > 0 && aws.length > 0) {
    throw new UsageError(
      `${aws.join(' and ')} belong to the AWS form (--stage <stage>), ${local.map((name) => `--${name}`).join(', ')} to the local form (--bucket, --data-dir): use one form`,
    );
  }
  if (local.length === 0) {
    if (values.stage === undefined) {
      throw new UsageError(
        'give --stage <stage> to restore on AWS, or --bucket and --data-dir to restore a local data directory',
      );
    }
    return runOnAws({
      stage: values.stage,
      ...(values.snapshot !== undefined && { snapshot: values.snapshot }),
      latest: values.latest,
      yes: values.yes,
    });
  }
  return runLocally({ ...values, prefix: values.prefix ?? DEFAULT_SNAPSHOT_PREFIX });
}

async function runOnAws(options: { stage: string; snapshot?: string; latest: boolean; yes: boolean }) {
  const target = stageStack(options.stage);
  const region = target.region === undefined ? {} : { region: target.region };
  const io: RestoreIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    interactive: process.stdin.isTTY === true,
    ask: async (question) => {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await prompt.question(question);
      } finally {
        prompt.close();
      }
    },
  };
  const onInterrupt = () => {
    process.stderr.write(
      '\nrestore: stopped following; the restore goes on in AWS (aws stepfunctions describe-execution --execution-arn <the execution above>)\n',
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await restoreOnAws(
      {
        cfn: new CloudFormationClient(region),
        sfn: new SFNClient(region),
        s3: createS3Client(region),
        io,
      },
      options,
    );
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

async function runLocally(values: {
  bucket?: string;
  key?: string;
  latest: boolean;
  prefix: string;
  stage?: string;
  'data-dir'?: string;
  'endpoint-url'?: string;
  'allow-no-checksum': boolean;
}): Promise<number> {
  const bucket = required(values, 'bucket');
  const dataDir = required(values, 'data-dir');
  if ((values.key === undefined) === !values.latest) {
    throw new UsageError('give exactly one of --key <key> or --latest');
  }
  const endpointUrl = endpointUrlOption(values);
  const s3 = createS3Client(endpointUrl === undefined ? {} : { endpointUrl });

  let key = values.key;
  if (key === undefined) {
    const [newest] = await listSnapshots({
      s3,
      bucket,
      prefix: values.prefix,
      limit: 1,
      withMetadata: false,
      ...(values.stage !== undefined && { stage: values.stage }),
    });
    if (newest === undefined) {
      process.stderr.write(`restore: no snapshot found under s3://${bucket}/${values.prefix}\n`);
      return 1;
    }
    key = newest.key;
  }
  const source = `s3://${bucket}/${key}`;
  process.stderr.write(`restore: downloading and verifying ${source}\n`);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const result = await installSnapshot({
    dataDir,
    snapshot: object.Body as Readable,
    source,
    allowMissingChecksum: values['allow-no-checksum'],
  });
  const keys = object.Metadata?.keys;
  process.stdout.write(
    [
      `restored ${source}`,
      `  bytes:         ${result.bytes} (${formatBytes(result.bytes)}), RDB format ${result.rdbVersion}, CRC64 ${result.crc64} ${result.checksum}`,
      `  keys expected: ${keys ?? 'unknown (no keys metadata on the object)'}`,
      `  installed as:  ${result.installedAs}`,
      `  old data:      ${result.previousData}${result.heldData ? '' : ' (empty: the directory held no Redis data)'}`,
      ...result.warnings.map((warning) => `  warning:       ${warning}`),
      '',
    ].join('\n'),
  );
  return 0;
}
