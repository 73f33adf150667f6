import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2 and the usage text. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` in strict mode (unknown flags and missing values are errors), with its
 * messages turned into UsageErrors that name the flag.
 */
export function parseOptions<T extends OptionSpec>(
  argv: readonly string[],
  options: T,
  { positionals = 0 }: { positionals?: number } = {},
) {
  try {
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: positionals > 0 });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** The value of a required string option, or a UsageError naming it. */
export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/**
 * `--endpoint-url`, checked before anything runs (a backup would otherwise make Redis fork and
 * stream the whole dump before the S3 client rejects the URL).
 */
export function endpointUrlOption(values: Record<string, unknown>): string | undefined {
  const value = values['endpoint-url'];
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new UsageError(
      `--endpoint-url ${JSON.stringify(value)} is not an http(s) URL. Allowed: e.g. http://127.0.0.1:9000 or https://s3.example.com`,
    );
  }
  return String(value);
}

/** Where progress goes: stderr, only when a person is watching (a terminal). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** Logger for the shared cores: warnings and errors on stderr, the rest only on a terminal. */
export const stderrLogger = {
  debug: () => {},
  info: (message: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}\n`);
  },
  warn: (message: string, ...attributes: Record<string, unknown>[]) => {
    process.stderr.write(`warning: ${message} ${attributes.map((a) => JSON.stringify(a)).join(' ')}\n`);
  },
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
