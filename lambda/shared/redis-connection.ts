import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';

/**
 * A Redis server and the credentials to use on it. The same target serves the ordinary commands
 * (ioredis) and the raw replication stream. Never log it whole: it holds the password.
 */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  /** ACL user. @default the default user */
  readonly username?: string;
  /** @default no password (no AUTH) */
  readonly password?: string;
  /** TLS: true for the system trust store, or Node TLS options. @default false */
  readonly tls?: boolean | ConnectionOptions;
}

/** The ACL users the image defines (docker/redis/entrypoint.sh). */
const KNOWN_USERS: ReadonlySet<string> = new Set(['default', 'backup', 'monitor']);

/** The target without secrets, for logs and error messages: `backup@10.0.1.5:6379 (tls)`. */
export function describeTarget(target: RedisTarget): string {
  // Only this project's own ACL user names are printed. Anything else in a URL's user-info may be a
  // password (redis-cli reads redis://SECRET@host as one), and must never reach a message or a log.
  const user =
    target.username === undefined
      ? 'default'
      : KNOWN_USERS.has(target.username)
        ? target.username
        : '<user from the URL>';
  return `${user}@${target.host}:${target.port}${target.tls ? ' (tls)' : ''}`;
}

/**
 * Parses `redis://[user[:password]@]host[:port]` (or `rediss://` for TLS). Credentials are
 * URL-decoded; a database path (`/0`) is accepted and ignored (a backup covers every database).
 */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('invalid Redis URL: expected redis://[user[:password]@]host[:port] or rediss://...');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`invalid Redis URL scheme "${parsed.protocol}": expected redis: or rediss:`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error('invalid Redis URL: no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  const password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  return {
    host,
    port,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(parsed.protocol === 'rediss:' && { tls: true }),
  };
}

export interface ConnectionSettings {
  /** @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Per-command timeout. @default 10_000 */
  readonly commandTimeoutMs?: number;
  /** Reconnection attempts before giving up. @default 2 */
  readonly maxReconnects?: number;
}

/**
 * ioredis options that fail fast instead of hanging until the Lambda timeout: few bounded
 * reconnects, no retry of a failed command, no offline queue (so connect explicitly with
 * `lazyConnect` + `connect()`), and no CLIENT SETINFO (an ACL user may not be allowed it).
 */
export function ioredisOptions(target: RedisTarget, settings: ConnectionSettings = {}): RedisOptions {
  const maxReconnects = settings.maxReconnects ?? 2;
  const tls = target.tls === true ? {} : target.tls || undefined;
  return {
    host: target.host,
    port: target.port,
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && target.password !== '' && { password: target.password }),
    // (Node sends the host as SNI and checks the certificate against it.)
    ...(tls && { tls: { ...tls } }),
    lazyConnect: true,
    connectTimeout: settings.connectTimeoutMs ?? 5_000,
    commandTimeout: settings.commandTimeoutMs ?? 10_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
    // ioredis otherwise keeps a 2 s timer alive after disconnect() of a connection that failed.
    disconnectTimeout: 200,
    retryStrategy: (times: number) => (times > maxReconnects ? null : Math.min(times * 200, 1_000)),
    reconnectOnError: () => false,
  };
}

/**
 * An ioredis error reduced to its message and code. The original carries the failed command's
 * arguments (`AUTH <user> <password>`), so chaining it as a `cause` would put the password into
 * any log line or stack dump that prints the error.
 */
export function withoutSecrets(error: unknown): Error {
  const clean: NodeJS.ErrnoException = new Error(error instanceof Error ? error.message : String(error));
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) clean.code = code;
  return clean;
}

/**
 * TLS to Redis as a function's environment configures it: REDIS_TLS_CA (the stage CA's PEM: the
 * server is verified against it, for the host name it is reached by), else REDIS_TLS=true (the
 * system's trust store), else none (plaintext).
 */
export function tlsFromEnvironment(host: string, env: NodeJS.ProcessEnv = process.env): RedisTarget['tls'] {
  const ca = env.REDIS_TLS_CA;
  if (ca !== undefined && ca !== '') return { ca, ...(isIP(host) === 0 && { servername: host }) };
  return env.REDIS_TLS === 'true' ? true : undefined;
}
