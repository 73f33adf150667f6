/**
 * `npm run -s ops -- <command> [options]`: the operators' CLI. Each command is a thin layer over
 * the same cores the Lambda functions run (lambda/backup, lambda/restore, ...). This file only
 * parses and dispatches; a command's work (and the AWS SDK, ioredis) loads when it runs.
 */
import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { EXIT, NO_CREDENTIALS, reportUsageErrors, sayUsageError, terminal, UsageError } from './cli-kit';
import { type CommandSpec, commandFromSpec } from './command-spec';
import { backupCommand } from './commands/backup';
import { copyDataCommand } from './commands/copy-data';
import { metricsCommand } from './commands/metrics';
import { restoreCommand } from './commands/restore';
import { seedExportCommand } from './commands/seed-export';
import { snapshotsCommand } from './commands/snapshots';
import { verifyCommand } from './commands/verify';

export const PROGRAM = 'npm run -s ops --';
const COMMANDS: readonly CommandSpec[] = [
  backupCommand,
  snapshotsCommand,
  verifyCommand,
  restoreCommand,
  metricsCommand,
  seedExportCommand,
  copyDataCommand,
];

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let running: CommandSpec | undefined;
  const program = new Command(PROGRAM)
    .description(
      "Operate this project's Redis: back it up to S3, list, verify and restore snapshots (on AWS or in a local data directory), sample its metrics.",
    )
    .usage('<command> [options]')
    .version(version, '-V, --version', 'print the version')
    .helpCommand('help [command]', "show a command's options, examples and exit codes")
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        `  $ ${PROGRAM} snapshots --stage prod`,
        `  $ ${PROGRAM} restore --stage prod --snapshot snapshots/prod/2026/11/25/20261125T020000Z.rdb`,
        `  $ ${PROGRAM} help restore`,
        '',
        'Exit codes: 0 done, 1 the operation failed (the reason on stderr), 2 wrong usage, 130 interrupted;',
        `see ${PROGRAM} help <command>.`,
      ].join('\n'),
    );
  for (const spec of COMMANDS) {
    const command = commandFromSpec(spec, (started) => {
      running = started;
    });
    program.addCommand(command);
    // Set after addCommand: commander copies settings only to commands it creates itself.
    command.copyInheritedSettings(program);
    reportUsageErrors(command, `ops ${spec.name}`, `${PROGRAM} help ${spec.name}`, spec.renamed);
  }
  reportUsageErrors(program, 'ops', `${PROGRAM} --help`);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, help <command> and --version end here too, with exit code 0.
      if (error.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      const name = running?.name;
      sayUsageError(
        name ? `ops ${name}` : 'ops',
        error.message,
        name ? `${PROGRAM} help ${name}` : `${PROGRAM} --help`,
      );
      return EXIT.usage;
    }
    terminal.say(`ops${running ? ` ${running.name}` : ''}: ${describeError(error)}`);
    return EXIT.failed;
  }
  const command = program.commands.find((candidate) => candidate.name() === running?.name);
  const code = command?.getOptionValue('__exitCode');
  return typeof code === 'number' ? code : EXIT.ok;
}

/** One line a person at 3 a.m. can act on, without a stack trace. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (error.name === 'CredentialsProviderError' || /Could not load credentials/.test(error.message)) {
    return NO_CREDENTIALS;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `cannot reach ${(error as { address?: string }).address ?? 'the server'}: ${error.message}`;
  }
  return error.message.split('\n')[0] ?? error.message;
}
