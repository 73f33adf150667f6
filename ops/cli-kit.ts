/**
 * What every command shares: the usage error, option checks, and how messages reach the person.
 * Light on purpose: `ops help` loads this and commander, nothing else.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_SNAPSHOT_PREFIX } from '../lambda/shared/snapshots/snapshot-key';

/** A mistake in how the command was called: exit code 2 and a pointer to the command's help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes every command uses (documented in each command's help). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** `restore --stage` stopped following a restore that goes on in AWS. */
  lostTrack: 3,
  interrupted: 130,
} as const;

/** The one message for missing AWS credentials, whichever command meets it first. */
export const NO_CREDENTIALS =
  'no AWS credentials found: run aws sso login (or set AWS_PROFILE / --profile), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/** Options as commander hands them over: camelCase keys. */
export type Options = Record<string, unknown>;

/**
 * Every missing required option at once (`--redis-url and --bucket are required`), with the
 * flag's value placeholder, instead of commander's one-at-a-time error.
 */
export function requireOptions(options: Options, flags: Record<string, string>): void {
  const missing = Object.entries(flags)
    .filter(([flag]) => {
      const value = options[camelCase(flag)];
      return value === undefined || value === '';
    })
    .map(([flag, placeholder]) => `--${flag} ${placeholder}`);
  if (missing.length === 1) throw new UsageError(`missing ${missing[0]}`);
  if (missing.length > 1) throw new UsageError(`missing ${missing.join(', ')}`);
}

/** The flags of `names` that were given (`--bucket`, ...), e.g. to refuse mixing two forms. */
export function givenFlags(options: Options, names: readonly string[]): string[] {
  return names.filter((name) => options[camelCase(name)] !== undefined).map((name) => `--${name}`);
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** commander parser: an http(s) URL (checked before anything connects). */
export function httpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InvalidArgumentError(
      'not an http(s) URL. Allowed: e.g. http://127.0.0.1:9000 or https://s3.example.com',
    );
  }
  return value;
}

/** commander parser factory: a whole number in [min, max]. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `${min} to ${max}`;
      throw new InvalidArgumentError(`expected a whole number, ${range}.`);
    }
    return parsed;
  };
}

/**
 * stderr, for what the person must read. A progress line (on a terminal) is cleared first, so a
 * message never glues onto it.
 */
export const terminal = {
  /** A progress line is on screen (no newline after it yet). */
  progressShown: false,
  isTTY(): boolean {
    return process.stderr.isTTY === true;
  },
  /** Replaces the progress line (terminals only). */
  progress(line: string): void {
    if (!terminal.isTTY()) return;
    process.stderr.write(`\r\x1b[K${line}`);
    terminal.progressShown = true;
  },
  /** Removes the progress line. */
  clearProgress(): void {
    if (!terminal.progressShown) return;
    process.stderr.write('\r\x1b[K');
    terminal.progressShown = false;
  },
  /** A line on stderr, on a line of its own; never with a URL's user-info (it may be a password). */
  say(line: string): void {
    terminal.clearProgress();
    process.stderr.write(`${redactUserInfo(line)}\n`);
  },
  /** A line on stderr only on a terminal: chatter that a script does not want. */
  note(line: string): void {
    if (terminal.isTTY()) terminal.say(line);
  },
};

/**
 * A usage mistake, the way every tool here reports it: `<tool>: <what is wrong>` and where the
 * help is, on stderr. `renamed` adds what an old flag is called now.
 */
export function sayUsageError(
  tool: string,
  message: string,
  help: string,
  renamed: Readonly<Record<string, string>> = {},
): void {
  const text = message
    .replace(/^error: /, '')
    .trim()
    .replace(/\n/g, ' ');
  const old = /unknown option '(--[a-z-]+)'/.exec(text)?.[1];
  const now = old === undefined ? undefined : renamed[old];
  terminal.say(`${tool}: ${text}${now === undefined ? '' : ` (${old} is now ${now})`}`);
  terminal.say(`Run '${help}' for its options and examples.`);
}

/** commander's own errors (unknown option, bad value) reported as sayUsageError does. */
export function reportUsageErrors(
  command: Command,
  tool: string,
  help: string,
  renamed?: Readonly<Record<string, string>>,
): Command {
  return command.configureOutput({ outputError: (message) => sayUsageError(tool, message, help, renamed) });
}

/** `scheme://user:secret@host` -> `scheme://<user-info>@host`, wherever a message echoes a URL. */
export function redactUserInfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi, '$1<user-info>@');
}

/** `--prefix`, default `snapshots` (no commander default: a given --prefix must be noticed). */
export function snapshotPrefix(options: Options): string {
  return options.prefix === undefined ? DEFAULT_SNAPSHOT_PREFIX : String(options.prefix);
}

/**
 * `ops restore --bucket ... --endpoint-url ...`: the same place again, for a hint that names a
 * command to run next (without them it would look in AWS's S3).
 */
export function placeFlags(options: Options): string {
  return [
    options.bucket !== undefined ? `--bucket ${String(options.bucket)}` : '',
    options.prefix !== undefined ? `--prefix ${String(options.prefix)}` : '',
    options.endpointUrl !== undefined ? `--endpoint-url ${String(options.endpointUrl)}` : '',
  ]
    .filter((flag) => flag !== '')
    .join(' ');
}

/** Logger for the shared cores: warnings on stderr, information only on a terminal, errors by the command. */
export const stderrLogger = {
  debug: () => {},
  info: (message: string) => terminal.note(message),
  warn: (message: string, ...attributes: Record<string, unknown>[]) =>
    terminal.say(`warning: ${message} ${attributes.map((a) => JSON.stringify(a)).join(' ')}`.trimEnd()),
  error: () => {
    // The command reports the error itself, once.
  },
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The choice of a snapshot, shared by the commands that take one (restore, seed-export): exactly
 * one of --snapshot <key> and --latest. `noFormHint`, when no form (--stage or the local one) was
 * given either, names them too, so that one message lists everything missing.
 */
export function checkSnapshotChoice(options: Options, noFormHint: string | undefined): void {
  if (options.snapshot === undefined && options.latest !== true) {
    throw new UsageError(
      noFormHint === undefined
        ? 'missing --snapshot <key> or --latest'
        : `missing ${noFormHint}, and --snapshot <key> or --latest`,
    );
  }
  if (options.snapshot !== undefined && options.latest === true) {
    throw new UsageError('give --snapshot <key> or --latest, not both');
  }
}
