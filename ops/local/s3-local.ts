/**
 * `npm run s3:local`: the S3 emulator the tests use (s3rver), in the foreground, on a port, with
 * one bucket, storing under a directory that outlives it. Prints the environment and the `ops`
 * command lines to use with it and with `npm run redis:local`. Ctrl-C stops it.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { sayUsageError, wholeNumber } from '../cli-kit';

// s3rver ships no type declarations.
const S3rver = require('s3rver');

/** What redis:local accepts for the backup and monitor users (REDIS_ENV=development: any value). */
export const LOCAL_PASSWORDS = {
  backup: 'local-backup-password',
  monitor: 'local-monitor-password',
} as const;

interface S3LocalOptions {
  readonly port: number;
  readonly bucket: string;
  readonly dataDir: string;
}

function program(run: (options: S3LocalOptions) => Promise<void>): Command {
  return new Command('npm run s3:local --')
    .description(
      'Runs the S3 emulator the tests use (s3rver) in the foreground, with one bucket, and prints the environment and ops command lines to use with it. Ctrl-C stops it; the objects stay in --data-dir.',
    )
    .addOption(
      new Option('--port <port>', 'TCP port on 127.0.0.1').argParser(wholeNumber(1, 65535)).default(9000),
    )
    .addOption(new Option('--bucket <name>', 'the bucket to create').default('redis-backups'))
    .addOption(
      new Option('--data-dir <dir>', 'where the objects are stored (created if missing)').default('.s3-data'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ npm run s3:local\n  $ npm run s3:local -- --port 9100 --data-dir /tmp/s3\n\nExit codes:\n  0  stopped with Ctrl-C\n  1  could not start (e.g. the port is in use)\n  2  wrong usage',
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      outputError: (message) => sayUsageError('s3:local', message, 'npm run s3:local -- --help'),
    })
    .action(run);
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  try {
    await program(async (options) => {
      code = await serve(options);
    }).parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return code;
}

async function serve({ port, bucket, dataDir }: S3LocalOptions): Promise<number> {
  if (!(await portIsFree(port))) {
    process.stderr.write(
      `s3:local: port ${port} on 127.0.0.1 is in use: stop what listens there, or add --port <another>\n`,
    );
    return 1;
  }
  const directory = resolve(dataDir);
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = `--bucket ${bucket} --endpoint-url ${endpoint}`;
  process.stdout.write(
    [
      `S3 emulator (s3rver) on ${endpoint}, bucket ${bucket}, objects in ${directory}`,
      'Ctrl-C stops it; the objects stay.',
      '',
      'In another terminal:',
      '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1',
      '',
      '  # Redis with the production configuration and its backup and monitor users (any password',
      '  # works with redis:local, which runs with REDIS_ENV=development):',
      `  REDIS_BACKUP_PASSWORD=${LOCAL_PASSWORDS.backup} REDIS_MONITOR_PASSWORD=${LOCAL_PASSWORDS.monitor} npm run redis:local`,
      '',
      '  # back up (as the backup user), list, check the numbers (as the monitor user):',
      `  REDISCLI_AUTH=${LOCAL_PASSWORDS.backup} npm run -s ops -- backup --redis-url redis://backup@127.0.0.1:6379 ${s3}`,
      `  npm run -s ops -- snapshots ${s3}`,
      `  REDISCLI_AUTH=${LOCAL_PASSWORDS.monitor} npm run -s ops -- metrics --redis-url redis://monitor@127.0.0.1:6379`,
      '',
      '  # restore the newest manual snapshot (stop redis:local first), then start it again:',
      `  npm run -s ops -- restore ${s3} --latest --folder manual --data-dir .redis-data`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  process.stdout.write('s3:local: stopped\n');
  return 0;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}
