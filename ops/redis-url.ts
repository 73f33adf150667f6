import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseRedisUrl, type RedisTarget } from '../lambda/shared/redis-connection';
import { UsageError } from './cli-kit';

/**
 * The Redis target of `--redis-url`. The password should not be in the URL (it would sit in the
 * shell history and in `ps`): like redis-cli, the commands read it from REDISCLI_AUTH, which a
 * URL with a user name requires.
 */
export function redisTargetFromUrl(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  caFile?: string,
): RedisTarget {
  const target = passwordFor(targetOf(url), env);
  if (caFile === undefined) return target;
  if (!target.tls) {
    throw new UsageError('--ca-file goes with a rediss:// URL (TLS); redis:// is plaintext');
  }
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--ca-file ${caFile}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca-file ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  // Verified against that CA, for the host name of the URL (as Celery's ssl_ca_certs does).
  return { ...target, tls: { ca, ...(isIP(target.host) === 0 && { servername: target.host }) } };
}

function targetOf(url: string): RedisTarget {
  try {
    return parseRedisUrl(url);
  } catch (error) {
    throw new UsageError(`--redis-url: ${(error as Error).message}`);
  }
}

function passwordFor(target: RedisTarget, env: NodeJS.ProcessEnv): RedisTarget {
  if (target.password !== undefined) {
    process.stderr.write(
      'warning: the password in --redis-url is visible in ps and your shell history; set REDISCLI_AUTH instead\n',
    );
    return target;
  }
  const password = env.REDISCLI_AUTH;
  if (password) return { ...target, password };
  if (target.username !== undefined) {
    // redis-cli reads a lone redis://SECRET@host as a PASSWORD; here (as in Celery and redis-py) it
    // is a user name, which would be echoed in every message: stop before connecting, and do not
    // repeat it.
    throw new UsageError(
      '--redis-url names a user but no password is set: export REDISCLI_AUTH=<password> ' +
        '(redis://<user>@host is a user name here, not a password as redis-cli reads it)',
    );
  }
  return target;
}
