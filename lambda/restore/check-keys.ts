import Redis from 'ioredis';
import { describeTarget, ioredisOptions, type RedisTarget, withoutSecrets } from '../shared/redis-connection';
import { countKeys } from '../shared/redis-facts';
import { parseInfo } from '../shared/redis-info';

/**
 * The key-count rule of a restore.
 *
 * What is compared:
 * - `expected`: the snapshot's `keys` metadata, INFO keyspace at the start of the backup, a few
 *   milliseconds before Redis forked to write the snapshot;
 * - `loaded` + `expiredOnLoad`: INFO persistence `rdb_last_load_keys_loaded` and
 *   `rdb_last_load_keys_expired` (Redis >= 7.0): what Redis read from the restored file when it
 *   started. Clients writing since (Celery reconnects at once, the health check INCRs `ping`) do
 *   not move these numbers, unlike DBSIZE. Loading an AOF base (what the install makes of the
 *   snapshot) Redis 7.0 loads keys whose TTL passed as well and reclaims them afterwards; a plain
 *   RDB load skips them and counts them as expired. Either way `loaded + expiredOnLoad` is the
 *   number of keys in the file, whatever expired since the backup.
 *
 * The rule: `|loaded + expiredOnLoad - expected| <= tolerance`, tolerance = max(2, 1% of expected),
 * for keys written or deleted between the backup's INFO and its fork. And never 0 keys loaded
 * from a snapshot that had keys (the restore trap: Redis ignoring the snapshot and starting empty).
 * A snapshot without `keys` metadata passes if anything was loaded at all.
 */
export interface KeyCountVerdict {
  readonly ok: boolean;
  readonly expected?: number;
  readonly loaded: number;
  readonly expiredOnLoad: number;
  readonly tolerance?: number;
  readonly message: string;
}

export function keyCountTolerance(expected: number): number {
  return Math.max(2, Math.ceil(expected / 100));
}

export function judgeKeyCount(
  expected: number | undefined,
  loaded: number,
  expiredOnLoad: number,
): KeyCountVerdict {
  const inFile = loaded + expiredOnLoad;
  const counts = `Redis loaded ${loaded} keys (${expiredOnLoad} more had expired)`;
  if (expected === undefined) {
    return inFile > 0
      ? {
          ok: true,
          loaded,
          expiredOnLoad,
          message: `${counts}; the snapshot has no keys metadata to compare`,
        }
      : {
          ok: false,
          loaded,
          expiredOnLoad,
          message: `${counts}: nothing, and the snapshot has no keys metadata to say it was empty`,
        };
  }
  const tolerance = keyCountTolerance(expected);
  const base = { expected, loaded, expiredOnLoad, tolerance };
  if (expected > 0 && inFile === 0) {
    return {
      ...base,
      ok: false,
      message: `${counts}: Redis came up EMPTY although the snapshot had ${expected} keys`,
    };
  }
  const ok = Math.abs(inFile - expected) <= tolerance;
  return {
    ...base,
    ok,
    message: ok
      ? `${counts}; the snapshot had ${expected} (tolerance ${tolerance})`
      : `${counts}, but the snapshot had ${expected}: more than ${tolerance} apart`,
  };
}

/** The restored Redis does not hold what the snapshot held: the restore must be undone. */
export class KeyCountMismatch extends Error {
  override name = 'KeyCountMismatch';
}

/** Redis could not be asked (not reachable yet, still loading): worth another try. */
export class RedisUnavailable extends Error {
  override name = 'RedisUnavailable';
}

/** Redis refused the monitor user (WRONGPASS, NOPERM): a configuration problem, not worth retrying. */
export class RedisRefused extends Error {
  override name = 'RedisRefused';
}

export interface KeyCheckResult extends KeyCountVerdict {
  /** DBSIZE over all databases now (clients may have written since the start). */
  readonly keysNow: number;
}

/**
 * Asks the restored Redis (as the `monitor` ACL user: INFO only) what it loaded at its start and
 * judges it with {@link judgeKeyCount}. Throws KeyCountMismatch when the rule fails,
 * RedisUnavailable when Redis cannot be asked yet, RedisRefused when it refuses the monitor user.
 */
export async function checkRestoredKeys(
  target: RedisTarget,
  expected: number | undefined,
  options: { connectTimeoutMs?: number } = {},
): Promise<KeyCheckResult> {
  const client = new Redis(ioredisOptions(target, { connectTimeoutMs: options.connectTimeoutMs ?? 5_000 }));
  let reported: Error | undefined;
  client.on('error', (error: Error) => {
    reported ??= error;
  });
  let persistence: Record<string, string>;
  let keyspace: Record<string, string>;
  try {
    await client.connect();
    persistence = parseInfo(await client.info('persistence'));
    keyspace = parseInfo(await client.info('keyspace'));
  } catch (error) {
    const cause = reported ?? (error as Error);
    const Failure = /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(cause.message) ? RedisRefused : RedisUnavailable;
    throw new Failure(`cannot read INFO from Redis as ${describeTarget(target)}: ${cause.message}`, {
      cause: withoutSecrets(cause),
    });
  } finally {
    client.disconnect();
  }
  if (persistence.loading === '1' || persistence.async_loading === '1') {
    throw new RedisUnavailable(`Redis at ${describeTarget(target)} is still loading its data`);
  }
  const loaded = persistence.rdb_last_load_keys_loaded;
  const expired = persistence.rdb_last_load_keys_expired;
  if (loaded === undefined || expired === undefined) {
    throw new KeyCountMismatch(
      'Redis does not report rdb_last_load_keys_loaded (Redis 7.0 or newer does): the restore cannot be checked',
    );
  }
  const verdict = judgeKeyCount(expected, Number(loaded), Number(expired));
  if (!verdict.ok) throw new KeyCountMismatch(verdict.message);
  return { ...verdict, keysNow: countKeys(keyspace) };
}
