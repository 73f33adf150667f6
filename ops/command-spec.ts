import { Command, type Option } from 'commander';
import type { Options } from './cli-kit';

/** What a command's work module exports: its exit code for the parsed options. */
export interface CommandAction {
  run(options: Options, args: readonly string[]): Promise<number>;
}

/**
 * One `ops` command as the person sees it: options, help sections, and where its work lives. The
 * work is imported only when the command runs, so `ops help` does not load the AWS SDK or ioredis.
 */
export interface CommandSpec {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** The command's own help: what it does, in a few lines. */
  readonly description: string;
  /** The usage line after the command's name. */
  readonly usage: string;
  /** Positional arguments: `<file.rdb>`, with their description. */
  readonly arguments?: readonly (readonly [string, string])[];
  readonly options: readonly Option[];
  readonly examples: readonly string[];
  readonly environment: readonly (readonly [string, string])[];
  readonly exitCodes: readonly (readonly [number, string])[];
  readonly load: () => Promise<CommandAction>;
  /** Flags that were renamed: old -> what it is now (said when the old one is used). */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** The environment of every command that calls AWS. */
export const AWS_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['AWS_PROFILE', 'the AWS profile (same as --profile)'],
  ['AWS_REGION', 'the AWS region (same as --region; a stage with a configured region uses that)'],
  ['AWS_ACCESS_KEY_ID, ...', "the AWS SDK's standard credential chain (environment, SSO, instance role)"],
];

/** A commander Command with the spec's options and help sections. */
export function commandFromSpec(spec: CommandSpec, onRun: (spec: CommandSpec) => void): Command {
  const command = new Command(spec.name)
    .summary(spec.summary)
    .description(spec.description)
    .usage(spec.usage);
  for (const [name, description] of spec.arguments ?? []) command.argument(name, description);
  for (const option of spec.options) command.addOption(option);
  command.addHelpText('after', helpSections(spec));
  command.action(async (...args: unknown[]) => {
    onRun(spec);
    const commandArgs = args.slice(0, -2) as string[];
    const options = args[args.length - 2] as Options;
    const action = await spec.load();
    command.setOptionValue('__exitCode', await action.run(options, commandArgs));
  });
  return command;
}

function helpSections(spec: CommandSpec): string {
  const table = (rows: readonly (readonly [string | number, string])[]) => {
    const width = Math.max(...rows.map(([name]) => String(name).length));
    return rows.map(([name, text]) => `  ${String(name).padEnd(width)}  ${text}`).join('\n');
  };
  return [
    '',
    'Examples:',
    ...spec.examples.map((example) => (example.startsWith('#') ? `  ${example}` : `  $ ${example}`)),
    '',
    'Environment:',
    table(spec.environment),
    '',
    'Exit codes:',
    table(spec.exitCodes),
  ].join('\n');
}
