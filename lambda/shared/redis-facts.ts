import Redis from 'ioredis';
import {
  type ConnectionSettings,
  describeTarget,
  ioredisOptions,
  type RedisTarget,
  withoutSecrets,
} from './redis-connection';
import { parseInfo } from './redis-info';

/** What a backup records about the server it copied. */
export interface RedisFacts {
  /** `redis_version` from INFO server, e.g. `7.0.15`. */
  readonly redisVersion: string;
  /** Keys in all databases, from INFO keyspace (at the start of the backup). */
  readonly keys: number;
}

/**
 * Reads INFO server and INFO keyspace with ioredis (the backup ACL user has +info). Fails fast
 * (bounded reconnects, no offline queue) with a message naming the user and server, never the
 * password.
 */
export async function readRedisFacts(
  target: RedisTarget,
  settings: ConnectionSettings = {},
): Promise<RedisFacts> {
  const redis = new Redis(ioredisOptions(target, settings));
  // ioredis rejects connect() with a bare "Connection is closed." and reports the reason
  // (WRONGPASS, ECONNREFUSED...) as an 'error' event: keep it for the message.
  let reported: Error | undefined;
  redis.on('error', (error: Error) => {
    reported ??= error;
  });
  try {
    await redis.connect();
    const server = parseInfo(await redis.info('server'));
    const keyspace = parseInfo(await redis.info('keyspace'));
    const redisVersion = server.redis_version;
    if (redisVersion === undefined) throw new Error('INFO server has no redis_version');
    return { redisVersion, keys: countKeys(keyspace) };
  } catch (error) {
    const cause =
      reported !== undefined && /Connection is closed/.test((error as Error).message) ? reported : error;
    throw new Error(
      `reading INFO from Redis as ${describeTarget(target)} failed: ${(cause as Error).message}`,
      { cause: withoutSecrets(cause) },
    );
  } finally {
    redis.disconnect();
  }
}

/** Sums `keys=N` over the `dbX:keys=N,expires=M,avg_ttl=T` fields of INFO keyspace. */
export function countKeys(keyspace: Record<string, string>): number {
  let keys = 0;
  for (const [field, value] of Object.entries(keyspace)) {
    if (!/^db\d+$/.test(field)) continue;
    const match = /(?:^|,)keys=(\d+)/.exec(value);
    if (match?.[1] !== undefined) keys += Number(match[1]);
  }
  return keys;
}
