import { parseRedisUrl, type RedisTarget } from '../lambda/shared/redis-connection';
import { UsageError } from './cli-kit';

/**
 * The Redis target of `--redis-url`. The password should not be in the URL (it would sit in the
 * shell history and in `ps`): like redis-cli, the commands read it from REDISCLI_AUTH.
 */
export function redisTargetFromUrl(url: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  let target: RedisTarget;
  try {
    target = parseRedisUrl(url);
  } catch (error) {
    throw new UsageError(`--redis-url: ${(error as Error).message}`);
  }
  if (target.password !== undefined) {
    process.stderr.write(
      'warning: the password in --redis-url is visible in ps and your shell history; set REDISCLI_AUTH instead\n',
    );
    return target;
  }
  const password = env.REDISCLI_AUTH;
  return password ? { ...target, password } : target;
}
