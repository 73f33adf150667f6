/**
 * Operations commands: `npm run -s ops -- <command> [options]`. Each command is a thin layer over
 * the same cores the Lambda functions run (lambda/backup, lambda/restore, ...).
 * Exit codes: 0 success, 1 the operation failed (the reason on stderr), 2 wrong usage, 3 `restore
 * --stage` lost track of a restore that goes on in AWS (how to follow it is printed).
 */
import { UsageError } from './cli-kit';
import * as backup from './commands/backup';
import * as metrics from './commands/metrics';
import * as restore from './commands/restore';
import * as snapshots from './commands/snapshots';
import * as verify from './commands/verify';

interface Command {
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = { backup, verify, snapshots, restore, metrics };

function help(): string {
  return [
    'usage: npm run -s ops -- <command> [options]',
    '',
    ...Object.values(COMMANDS).map((command) => `  ${command.usage}\n`),
    'AWS credentials come from the standard chain (AWS_PROFILE, environment, SSO, instance role).',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`ops: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: npm run -s ops -- ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ops ${name}: ${error.message}\nusage: npm run -s ops -- ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`ops ${name}: ${describeError(error)}\n`);
    return 1;
  }
}

/** One line a person at 3 a.m. can act on, without a stack trace. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (error.name === 'CredentialsProviderError') {
    return `no AWS credentials found (${error.message}). Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.`;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `cannot reach ${(error as { address?: string }).address ?? 'the server'}: ${error.message}`;
  }
  return error.message;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ops: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
