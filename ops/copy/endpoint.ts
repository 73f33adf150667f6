import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseRedisUrl, type RedisTarget } from '../../lambda/shared/redis-connection';
import { UsageError } from '../cli-kit';

/** One side of a copy as the command line names it: `--from` and its password variable and CA flag. */
export interface EndpointFlags {
  /** `--from` or `--to`. */
  readonly urlFlag: string;
  /** `REDIS_FROM_PASSWORD` or `REDIS_TO_PASSWORD`. */
  readonly passwordVariable: string;
  /** `--ca-file-from` or `--ca-file-to`. */
  readonly caFlag: string;
}

export const FROM: EndpointFlags = {
  urlFlag: '--from',
  passwordVariable: 'REDIS_FROM_PASSWORD',
  caFlag: '--ca-file-from',
};
export const TO: EndpointFlags = {
  urlFlag: '--to',
  passwordVariable: 'REDIS_TO_PASSWORD',
  caFlag: '--ca-file-to',
};

/**
 * The Redis of `--from`/`--to`, as ops/redis-url.ts makes the one of `--redis-url`, with one
 * password variable per side instead of REDISCLI_AUTH (two servers, two passwords). A password in
 * the URL works but is warned about (ps, shell history); a URL that names a user needs its
 * variable. rediss:// verifies the server against `caFile`, or the system's trust store without
 * it, for the URL's host name.
 */
export function endpointFromUrl(
  flags: EndpointFlags,
  url: string,
  env: NodeJS.ProcessEnv,
  caFile: string | undefined,
  warn: (line: string) => void,
): RedisTarget {
  let target: RedisTarget;
  try {
    target = parseRedisUrl(url);
  } catch (error) {
    throw new UsageError(`${flags.urlFlag}: ${(error as Error).message}`);
  }
  // redis://host/1 means database 1 to redis-cli and Celery; here it would be ignored, and every
  // database copied: refused, with the flag that says which database.
  const path = new URL(url).pathname;
  if (path !== '' && path !== '/') {
    const db = /^\/(\d+)$/.exec(path)?.[1];
    throw new UsageError(
      `${flags.urlFlag} names a database (${db === undefined ? `path ${path}` : `/${db}`}): copy-data copies every database that holds keys, or the one --db <n> names${db === undefined ? '' : ` (--db ${db})`}; give the URL without it`,
    );
  }
  if (target.password !== undefined) {
    warn(
      `warning: the password in ${flags.urlFlag} is visible in ps and your shell history; set ${flags.passwordVariable} instead`,
    );
  } else {
    const password = env[flags.passwordVariable];
    if (password) target = { ...target, password };
    else if (target.username !== undefined) {
      // Never repeated: redis-cli reads redis://SECRET@host as a password.
      throw new UsageError(
        `${flags.urlFlag} names a user but no password is set: export ${flags.passwordVariable}=<password>`,
      );
    }
  }
  if (caFile === undefined) return target;
  if (!target.tls) {
    throw new UsageError(
      `${flags.caFlag} goes with a rediss:// URL (TLS); ${flags.urlFlag} is redis:// (plaintext)`,
    );
  }
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${flags.caFlag} ${caFile}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`${flags.caFlag} ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return { ...target, tls: { ca, ...(isIP(target.host) === 0 && { servername: target.host }) } };
}
