import Redis from 'ioredis';
import { type ConnectionSettings, ioredisOptions, type RedisTarget } from '../shared/redis-connection';

/** The error of a login the server refused (WRONGPASS, NOAUTH, NOPERM), not of an unreachable server. */
export interface LoginError extends Error {
  readonly refused: boolean;
}

/**
 * Connects as `user` with `password` (ioredis logs in with HELLO ... AUTH), runs `action`, closes.
 * A refused login or an unreachable server reads as what it is: ioredis only says "Connection is
 * closed" and reports the reason as an error event (whose `command` holds the password: only the
 * message is kept). The error's `refused` tells the two apart.
 */
export async function withLogin<T>(
  target: RedisTarget,
  user: string,
  password: string,
  settings: ConnectionSettings | undefined,
  action: (redis: Redis) => Promise<T>,
): Promise<T> {
  const { username: _username, password: _password, ...address } = target;
  const redis = new Redis(ioredisOptions({ ...address, username: user, password }, settings));
  let reason: string | undefined;
  redis.on('error', (error: Error) => {
    reason ??= error.message;
  });
  const server = `${address.host}:${address.port}${address.tls ? ' (tls)' : ''}`;
  try {
    try {
      await redis.connect();
    } catch (error) {
      const why = reason ?? (error as Error).message;
      const refused = /WRONGPASS|NOAUTH|NOPERM/.test(why);
      throw Object.assign(
        new Error(
          refused
            ? `Redis ${server} refused the login of user ${user}: ${why}`
            : `cannot connect to Redis ${server} as user ${user}: ${why}`,
        ),
        { refused },
      );
    }
    return await action(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * Whether a new connection logs in as `user` with `password` and gets PING's answer: false when
 * the server refuses the password; throws when the server cannot be reached (that proves nothing).
 */
export async function logsIn(
  target: RedisTarget,
  user: string,
  password: string,
  settings: ConnectionSettings | undefined,
): Promise<boolean> {
  try {
    await withLogin(target, user, password, settings, async (redis) => {
      await redis.ping();
    });
    return true;
  } catch (error) {
    if ((error as Partial<LoginError>).refused === true) return false;
    throw error;
  }
}
