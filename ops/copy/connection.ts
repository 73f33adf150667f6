import Redis from 'ioredis';
import { describeTarget, ioredisOptions, type RedisTarget } from '../../lambda/shared/redis-connection';

/** Which side a connection is: named in every message about it. */
export type Side = 'source' | 'target';

/** A failure the command reports as one line and exit 1 (never with a password in it). */
export class CopyError extends Error {
  override name = 'CopyError';
}

/**
 * A connection for the copy: the project's fail-fast ioredis options (bounded reconnects, no
 * offline queue, no CLIENT SETINFO), a longer per-command timeout (a chunk of a large value), and
 * RESP2. ioredis 6 speaks RESP3 by default, where a sorted set's scores may arrive as doubles the
 * client parses itself; over RESP2 every score is the server's own text, which the copy hands back
 * unchanged.
 */
export async function openConnection(target: RedisTarget, side: Side): Promise<Redis> {
  const client = new Redis({
    ...ioredisOptions(target, { connectTimeoutMs: 10_000, commandTimeoutMs: 120_000, maxReconnects: 2 }),
    protocol: 2,
  });
  // ioredis rejects connect() with a bare "Connection is closed." and reports the reason
  // (WRONGPASS, ECONNREFUSED, a certificate error) as an 'error' event: keep the first one.
  let reported: Error | undefined;
  client.on('error', (error: Error) => {
    reported ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw connectionError(side, target, reported ?? (error as Error));
  }
  return client;
}

/** `cannot connect to the target default@10.0.1.5:6379 (tls): WRONGPASS ...` with what to check. */
export function connectionError(side: Side, target: RedisTarget, error: Error): CopyError {
  const server = `the ${side} ${describeTarget(target)}`;
  const message = error.message.split('\n')[0] ?? error.message;
  const code = (error as NodeJS.ErrnoException).code;
  const variable = side === 'source' ? 'REDIS_FROM_PASSWORD' : 'REDIS_TO_PASSWORD';
  if (/^(WRONGPASS|NOAUTH)\b/.test(message)) {
    return new CopyError(
      `${server} refused the credentials (check ${variable} and the URL's user): ${message}`,
    );
  }
  if (/^NOPERM\b/.test(message))
    return new CopyError(`${server}: the user may not run a command the copy needs: ${message}`);
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return new CopyError(`${server} did not answer in time: ${message}`);
  }
  return new CopyError(`cannot connect to ${server}: ${message}`);
}
