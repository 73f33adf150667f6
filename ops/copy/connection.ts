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
  // ioredis rejects a command with a bare "Connection is closed." (or "Reached the max retries per
  // request limit") and reports the reasons (WRONGPASS, ECONNRESET, ECONNREFUSED, a certificate
  // error) as 'error' events, one per attempt, for as long as the connection lives: keep the most
  // telling one (what the server answered, or a certificate's fault), else the last.
  const state: ConnectionState = { side, target };
  connectionStates.set(client, state);
  client.on('error', (error: Error) => {
    state.error = moreRelevant(state.error, error);
    state.at = performance.now();
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    // The rejection is a bare "Connection is closed." unless it is an answer (PING: NOAUTH).
    throw connectionError(
      side,
      target,
      state.error === undefined ? (error as Error) : moreRelevant(error as Error, state.error),
    );
  }
  return client;
}

interface ConnectionState {
  readonly side: Side;
  readonly target: RedisTarget;
  /** The most telling, else the last, error event of the connection, and when it came. */
  error?: Error;
  at?: number;
}

const connectionStates = new WeakMap<Redis, ConnectionState>();

/** What ioredis rejects a command with when the connection is gone: it says nothing of why. */
const CONNECTION_LOST =
  /Connection is closed\.?|Command aborted due to connection close\.?|Reached the max retries per request limit[^.]*\.(?: Refer to "maxRetriesPerRequest" option for details\.)?|Stream isn't writeable and enableOfflineQueue options is false/;

/**
 * A failure's message for the operator: ioredis's bare "Connection is closed." (or its kin) gives
 * way to why, as the connection's error events told it (`the connection to the target
 * default@10.0.1.5:6379 failed: read ECONNRESET`). Other messages are left as they are.
 */
export function explainFailure(message: string, clients: readonly Redis[]): string {
  if (!CONNECTION_LOST.test(message)) return message;
  const states = clients.flatMap((client) => {
    const state = connectionStates.get(client);
    return state === undefined ? [] : [{ client, state }];
  });
  // The connection that is down, else the one with the latest error.
  const rank = ({ client, state }: (typeof states)[number]) =>
    (client.status === 'ready' ? 0 : 2) + (state.error === undefined ? 0 : 1) + (state.at ?? 0) / 1e15;
  const failed = states
    .filter(({ client, state }) => client.status !== 'ready' || state.error !== undefined)
    .sort((a, b) => rank(b) - rank(a))[0];
  if (failed === undefined) return message;
  const { side, target, error } = failed.state;
  const why =
    error === undefined
      ? 'was closed (by the server, or the network)'
      : `failed: ${error.message.split('\n')[0]}`;
  return message.replace(CONNECTION_LOST, `the connection to the ${side} ${describeTarget(target)} ${why}`);
}

/** An answer of the server (an ACL, AUTH or command error) or a TLS verification failure. */
function telling(error: Error): boolean {
  return (
    /^(WRONGPASS|NOAUTH|NOPERM|ERR|LOADING|MISCONF)\b/.test(error.message) ||
    /certificate|self[- ]signed|altnames|Hostname\/IP/i.test(error.message)
  );
}

/** Of two errors of one connection, the one to report: the later, unless only the earlier is telling. */
export function moreRelevant(earlier: Error | undefined, later: Error): Error {
  return earlier !== undefined && telling(earlier) && !telling(later) ? earlier : later;
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
