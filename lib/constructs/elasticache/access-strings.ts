/**
 * The users of an ElastiCache stage (RBAC) and their ACL access strings. ElastiCache applies these
 * strings as `ACL SETUSER <name> <access string>` with the passwords it holds; it refuses `reset`
 * and passwords in the string. test/lib/elasticache/access-strings.test.ts applies each one to a
 * real redis-server user and checks it command by command.
 */

/**
 * The application's user (Celery broker, result backend, cache): every key, every channel, every
 * command ElastiCache allows. The container's `default` user has the same rights; on ElastiCache
 * `default` must exist in the group and is switched off instead (DISABLED_DEFAULT_ACCESS_STRING).
 */
export const APPLICATION_ACCESS_STRING = 'on ~* &* +@all';

/** The ElastiCache user name of the application (published as the `user` connection parameter). */
export const ELASTICACHE_APPLICATION_USER = 'app';

/**
 * The metrics function's user: the same commands as the container's `monitor` user
 * (docker/redis/entrypoint.sh: PING, INFO, DBSIZE, SELECT, SLOWLOG GET, LLEN). `~*` rather than the
 * container's `%R~*`: every command allowed here only reads, so read-only key access would change
 * nothing, and `~*` is the form every ElastiCache engine version accepts.
 */
export const MONITOR_ACCESS_STRING = 'on ~* -@all +ping +info +dbsize +select +slowlog|get +llen';

/** The metrics function's user name, as in the container. */
export const ELASTICACHE_MONITOR_USER = 'monitor';

/**
 * The `default` user every ElastiCache user group must hold: off (AUTH as it fails), no keys, no
 * commands. A connection that does not authenticate as `app` or `monitor` can do nothing.
 */
export const DISABLED_DEFAULT_ACCESS_STRING = 'off -@all';
