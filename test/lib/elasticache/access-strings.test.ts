import { join } from 'node:path';
import Redis from 'ioredis';
import { collectRedisMetrics, KOMBU_PRIORITY_SEPARATOR, MetricsState } from '../../../lambda/metrics';
import { createObservability } from '../../../lambda/shared/observability';
import {
  ioredisOptions,
  type RedisTarget,
  tlsFromEnvironment,
} from '../../../lambda/shared/redis-connection';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  ELASTICACHE_APPLICATION_USER,
  ELASTICACHE_MONITOR_USER,
  MONITOR_ACCESS_STRING,
} from '../../../lib/constructs/elasticache/access-strings';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';
import { captureStdout, metricValue, recordingLogger } from '../../lambda/metrics/emf';
import { makeCertificates, type TestCertificates } from '../../support/tls';

// The access strings of an ElastiCache stage, applied the way ElastiCache applies them
// (`ACL SETUSER <name> <access string>` plus a password) to a real redis-server that serves TLS
// only, as ElastiCache does: its user group holds `default` (switched off), `app` and `monitor`,
// nothing else. Beside it, a redis-server started by the container's entrypoint, whose `monitor`
// user is the one the image configures: both monitor users must allow exactly the same commands.

/** ElastiCache's passwords (16-128 characters). */
const PASSWORD = {
  app: 'elasticache-app-password-0123456789',
  monitor: 'elasticache-monitor-password-0123456789',
  default: 'elasticache-default-password-0123456789',
} as const;

/** The host name clients use (the certificate is for it, and is verified). */
const HOST = 'localhost';

/** `ACL SETUSER <name> <access string> [>password]`, the rules as separate arguments. */
function setUser(client: Redis, name: string, accessString: string, password?: string): Promise<unknown> {
  const rules = accessString.split(/\s+/).filter((rule) => rule !== '');
  return client.call('ACL', 'SETUSER', name, ...rules, ...(password ? [`>${password}`] : []));
}

let dir: string;
let certs: TestCertificates;
/** The image's Redis (entrypoint + redis.conf), plaintext: its `monitor` user as the image makes it. */
let container: RedisProcess;
/** A TLS-only Redis with ElastiCache's user group: default (off), app, monitor. */
let elasticache: RedisProcess;
let tlsPort: number;
const clients: Redis[] = [];

/** The ElastiCache server as the project's functions reach it: host name, CA from REDIS_TLS_CA. */
function elasticacheTarget(username: string, password: string, ca = certs.pem.ca): RedisTarget {
  return {
    host: HOST,
    port: tlsPort,
    username,
    password,
    tls: tlsFromEnvironment(HOST, { REDIS_TLS_CA: ca }),
  };
}

function containerTarget(username: string, password: string): RedisTarget {
  return { host: '127.0.0.1', port: container.port, username, password };
}

/**
 * A connected ioredis client on `target` with the project's options (ioredisOptions: fail fast, no
 * CLIENT SETINFO); closed in afterAll. Rejects with the reason Redis or TLS gave.
 */
async function connect(target: RedisTarget): Promise<Redis> {
  const client = new Redis({
    ...ioredisOptions(target, { connectTimeoutMs: 3_000, commandTimeoutMs: 3_000, maxReconnects: 0 }),
    disconnectTimeout: 50,
  });
  clients.push(client);
  let reported: Error | undefined;
  client.on('error', (error: Error) => {
    reported ??= error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw reported ?? error;
  }
  return client;
}

/** Why connecting to `target` fails (the test fails if it connects). */
async function connectionError(target: RedisTarget): Promise<string> {
  try {
    const client = await connect(target);
    client.disconnect();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`connected to ${target.host}:${target.port} as ${target.username}, expected a refusal`);
}

/** A server's answer to one command: 'ok', or the error's code (NOPERM, NOAUTH...), or `ERR ...`. */
async function outcome(client: Redis, command: readonly string[]): Promise<string> {
  const [name = '', ...args] = command;
  try {
    await client.call(name, ...args);
    return 'ok';
  } catch (error) {
    const message = (error as Error).message;
    return /^(NOPERM|NOAUTH|WRONGPASS)\b/.exec(message)?.[1] ?? message;
  }
}

/** `command` on a connection of its own (SELECT, SUBSCRIBE or MONITOR must not leak into the next). */
async function outcomeAlone(target: RedisTarget, command: readonly string[]): Promise<string> {
  const client = await connect(target);
  try {
    return await outcome(client, command);
  } finally {
    client.disconnect();
  }
}

beforeAll(async () => {
  dir = makeTempDir('elasticache-access');
  certs = makeCertificates(dir);
  tlsPort = await freePort();
  [container, elasticache] = await Promise.all([
    RedisProcess.start(),
    RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'runtime'),
      },
    }),
  ]);

  // ElastiCache's user group: the entrypoint's users go, app and monitor come from the access
  // strings (new users: ElastiCache refuses `reset` in a string), then default is switched off.
  const admin = await connect(elasticacheTarget('default', PASSWORDS.default));
  await admin.call('ACL', 'DELUSER', 'monitor', 'backup', 'healthcheck', 'operator');
  await setUser(admin, ELASTICACHE_APPLICATION_USER, APPLICATION_ACCESS_STRING, PASSWORD.app);
  await setUser(admin, ELASTICACHE_MONITOR_USER, MONITOR_ACCESS_STRING, PASSWORD.monitor);
  admin.disconnect();
  const app = await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app));
  await app.call('ACL', 'SETUSER', 'default', 'reset');
  await setUser(app, 'default', DISABLED_DEFAULT_ACCESS_STRING, PASSWORD.default);
  expect(await app.call('ACL', 'USERS')).toEqual(['app', 'default', 'monitor']);

  // Data for both servers: a Celery queue (with a priority list) in db 0 and db 3, a value in db 5.
  const containerApp = await connect(containerTarget('default', PASSWORDS.default));
  for (const client of [app, containerApp]) {
    await client.rpush('celery', 'a', 'b');
    await client.set('secret', 'only the application may read this');
    await client.select(3);
    await client.rpush('celery', 'm1', 'm2', 'm3');
    await client.rpush(`celery${KOMBU_PRIORITY_SEPARATOR}3`, 'p1', 'p2');
    await client.select(5);
    await client.set('cache:1', 'v');
    client.disconnect();
  }
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all([container?.cleanup(), elasticache?.cleanup()]);
  if (dir) removeTempDir(dir);
});

interface Row {
  readonly command: readonly string[];
  readonly allowed: boolean;
  /**
   * Refused by the server's configuration before the ACL is consulted (DEBUG: enable-debug-command
   * no): the real answer is that refusal, the ACL's verdict comes from ACL DRYRUN alone.
   */
  readonly refusedBeforeAcl?: RegExp;
}
const allow = (...command: string[]): Row => ({ command, allowed: true });
const refuse = (...command: string[]): Row => ({ command, allowed: false });

/**
 * The monitor user, command by command: what the metrics function needs, and what it must never
 * do (read a value, write, administer, replicate, subscribe, run scripts). Each row is run for real
 * as the user, on a connection of its own, and asked of the ACL with ACL DRYRUN.
 */
const MONITOR_TABLE: readonly Row[] = [
  allow('PING'),
  allow('INFO'),
  ...['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'keyspace'].map(
    (section) => allow('INFO', section),
  ),
  allow('INFO', 'everything'),
  allow('INFO', 'all'),
  allow('INFO', 'commandstats'),
  allow('DBSIZE'),
  ...Array.from({ length: 16 }, (_, database) => allow('SELECT', String(database))),
  allow('SLOWLOG', 'GET'),
  allow('SLOWLOG', 'GET', '10'),
  allow('LLEN', 'celery'),
  allow('LLEN', 'no-such-queue'),
  refuse('GET', 'secret'),
  refuse('SET', 'k', 'v'),
  refuse('DEL', 'celery'),
  refuse('KEYS', '*'),
  refuse('SCAN', '0'),
  refuse('LRANGE', 'celery', '0', '-1'),
  refuse('LINDEX', 'celery', '0'),
  refuse('TYPE', 'celery'),
  refuse('EXISTS', 'celery'),
  refuse('DUMP', 'celery'),
  refuse('LPUSH', 'celery', 'x'),
  refuse('RPOP', 'celery'),
  refuse('BRPOP', 'celery', '0.1'),
  refuse('FLUSHALL'),
  refuse('FLUSHDB'),
  refuse('SWAPDB', '0', '1'),
  refuse('CONFIG', 'GET', 'maxmemory'),
  refuse('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'),
  { ...refuse('DEBUG', 'SLEEP', '0'), refusedBeforeAcl: /^ERR DEBUG command not allowed/ },
  refuse('ACL', 'LIST'),
  refuse('ACL', 'WHOAMI'),
  refuse('ACL', 'SETUSER', 'intruder', 'on', '>intruder-password-0123', '+@all'),
  refuse('SLOWLOG', 'RESET'),
  refuse('SLOWLOG', 'LEN'),
  refuse('CLIENT', 'KILL', 'ID', '999999999'),
  refuse('CLIENT', 'LIST'),
  refuse('CLIENT', 'SETNAME', 'probe'),
  refuse('MONITOR'),
  refuse('SUBSCRIBE', 'channel'),
  refuse('PSUBSCRIBE', 'channel*'),
  refuse('PUBLISH', 'channel', 'message'),
  refuse('EVAL', 'return 1', '0'),
  refuse('EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'),
  refuse('SCRIPT', 'LOAD', 'return 1'),
  refuse('MULTI'),
  refuse('SYNC'),
  refuse('PSYNC', '?', '-1'),
  refuse('REPLICAOF', 'NO', 'ONE'),
  refuse('BGSAVE'),
  refuse('SHUTDOWN', 'ABORT'),
  refuse('COMMAND', 'COUNT'),
  refuse('MEMORY', 'USAGE', 'celery'),
  refuse('OBJECT', 'ENCODING', 'celery'),
];

interface Verdict {
  /** ACL DRYRUN's verdict. */
  readonly acl: 'allowed' | 'refused';
  /** The real answer to the command run as the user: 'ok', NOPERM, or the error. */
  readonly answer: string;
}

function expectedVerdict(row: Row): Verdict {
  if (row.allowed) return { acl: 'allowed', answer: 'ok' };
  return {
    acl: 'refused',
    answer: row.refusedBeforeAcl ? expect.stringMatching(row.refusedBeforeAcl) : 'NOPERM',
  };
}

/** `ACL DRYRUN user command...`, asked on `admin` (a user allowed ACL). */
async function dryRun(admin: Redis, user: string, command: readonly string[]): Promise<Verdict['acl']> {
  const answer = String(await admin.call('ACL', 'DRYRUN', user, ...command));
  if (answer === 'OK') return 'allowed';
  if (answer.includes('no permissions')) return 'refused';
  throw new Error(`ACL DRYRUN ${user} ${command.join(' ')}: ${answer}`);
}

/** Every command and subcommand the server knows, with arguments enough for ACL DRYRUN's arity check. */
async function everyCommand(client: Redis): Promise<{ name: string; args: string[]; noAuth: boolean }[]> {
  type Info = [string, number, string[], ...unknown[]];
  const infos = (await client.call('COMMAND')) as Info[];
  const invocations: { name: string; args: string[]; noAuth: boolean }[] = [];
  const add = ([name, arity, flags]: Info, parts: string[]) => {
    const extra = Math.max(Math.abs(arity) - parts.length, 0);
    invocations.push({
      name,
      args: [...parts, ...Array(extra).fill('0')],
      noAuth: flags.includes('no_auth'),
    });
  };
  for (const info of infos) {
    const subcommands = (info[9] ?? []) as Info[];
    if (subcommands.length === 0) add(info, [info[0]]);
    for (const sub of subcommands) add(sub, sub[0].split('|'));
  }
  return invocations;
}

/** The commands and subcommands `user` may run, by ACL DRYRUN (nothing is executed). */
async function allowedCommands(admin: Redis, user: string): Promise<string[]> {
  const allowed: string[] = [];
  for (const { name, args } of await everyCommand(admin)) {
    if ((await dryRun(admin, user, args)) === 'allowed') allowed.push(name);
  }
  return allowed.sort();
}

/** Both servers' administrators (ElastiCache: app, the only user allowed ACL; the image: default). */
async function admins(): Promise<{ elasticache: Redis; container: Redis }> {
  return {
    elasticache: await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app)),
    container: await connect(containerTarget('default', PASSWORDS.default)),
  };
}

describe('MONITOR_ACCESS_STRING: the metrics function on ElastiCache', () => {
  let admin: { elasticache: Redis; container: Redis };
  beforeAll(async () => {
    admin = await admins();
  });

  it.each(MONITOR_TABLE.map((row) => [row.command.join(' '), row] as const))(
    '%s: as the table says, and as the image monitor user (entrypoint.sh) answers',
    async (_label, row) => {
      const ours: Verdict = {
        acl: await dryRun(admin.elasticache, ELASTICACHE_MONITOR_USER, row.command),
        answer: await outcomeAlone(
          elasticacheTarget(ELASTICACHE_MONITOR_USER, PASSWORD.monitor),
          row.command,
        ),
      };
      const image: Verdict = {
        acl: await dryRun(admin.container, 'monitor', row.command),
        answer: await outcomeAlone(containerTarget('monitor', PASSWORDS.monitor), row.command),
      };
      expect(ours).toEqual(expectedVerdict(row));
      expect(ours).toEqual(image);
    },
  );

  it('allows exactly the commands of the image monitor user, among every command Redis knows (ACL DRYRUN)', async () => {
    const ours = await allowedCommands(admin.elasticache, ELASTICACHE_MONITOR_USER);
    const image = await allowedCommands(admin.container, 'monitor');
    // AUTH, HELLO, QUIT and RESET: every user may run them (a connection runs them before it is
    // authenticated: the ACL does not apply to them).
    const noAuth = (await everyCommand(admin.elasticache)).filter((c) => c.noAuth).map((c) => c.name);
    expect(noAuth.sort()).toEqual(['auth', 'hello', 'quit', 'reset']);
    expect(ours).toEqual(image);
    expect(ours).toEqual(['dbsize', 'info', 'llen', 'ping', 'select', 'slowlog|get', ...noAuth].sort());
  });

  it('the metrics core (collectRedisMetrics) samples everything as monitor, over verified TLS, queue in db3', async () => {
    const { metrics } = createObservability('redis-metrics', 'test');
    const logger = recordingLogger();
    const stdout = captureStdout();
    let result: Awaited<ReturnType<typeof collectRedisMetrics>>;
    try {
      result = await collectRedisMetrics({
        // What lambda/metrics/handler.ts builds: user monitor, TLS from REDIS_TLS_CA for the host name.
        redis: elasticacheTarget(ELASTICACHE_MONITOR_USER, PASSWORD.monitor),
        intervalSeconds: 60,
        state: new MetricsState(),
        logger,
        metrics,
        queues: ['celery'],
        queueDatabase: 3,
      });
    } finally {
      stdout.restore();
    }
    expect(result).toMatchObject({ up: true, problems: [] });
    expect(logger.entries.filter((entry) => entry.level !== 'info')).toEqual([]);
    const documents = stdout.documents();
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    // 3 messages in `celery` and 2 in its priority-3 list, in db3 (not the 2 in db0).
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(5);
    expect(metricValue(documents, 'Keys', { Database: 'db0' })).toBe(2);
    expect(metricValue(documents, 'Keys', { Database: 'db3' })).toBe(2);
    expect(metricValue(documents, 'Keys', { Database: 'db5' })).toBe(1);
    expect(metricValue(documents, 'UsedMemory')).toBeGreaterThan(0);
  });
});

describe('APPLICATION_ACCESS_STRING: Celery, the result backend and the cache on ElastiCache', () => {
  let app: Redis;
  beforeAll(async () => {
    app = await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app));
    await app.select(7);
  });

  it('allows every command the image default user (the application there) may run (ACL DRYRUN)', async () => {
    const { elasticache, container } = await admins();
    const ours = await allowedCommands(elasticache, ELASTICACHE_APPLICATION_USER);
    expect(ours).toEqual(await allowedCommands(container, 'default'));
    expect(ours).toEqual((await everyCommand(elasticache)).map((c) => c.name).sort());
  });

  it("kombu's broker commands: LPUSH/BRPOP, MULTI/EXEC, bindings (SADD/SMEMBERS), unacked (HSET/ZADD)", async () => {
    expect(await app.lpush('celery', 'message-1')).toBe(1);
    expect(await app.brpop('celery', 1)).toEqual(['celery', 'message-1']);
    expect(await app.sadd('_kombu.binding.celery', 'celery\x06\x16\x06\x16celery')).toBe(1);
    expect(await app.smembers('_kombu.binding.celery')).toEqual(['celery\x06\x16\x06\x16celery']);
    const transaction = await app
      .multi()
      .zadd('unacked_index', String(Date.now() / 1000), 'tag-1')
      .hset('unacked', 'tag-1', '{"body": "..."}')
      .exec();
    expect(transaction).toEqual([
      [null, 1],
      [null, 1],
    ]);
    expect(await app.zrevrangebyscore('unacked_index', '+inf', '-inf')).toEqual(['tag-1']);
    await app.watch('unacked');
    const unwatched = await app.multi().hdel('unacked', 'tag-1').zrem('unacked_index', 'tag-1').exec();
    expect(unwatched).toEqual([
      [null, 1],
      [null, 1],
    ]);
    expect(await app.call('RPOPLPUSH', 'celery', 'celery')).toBeNull();
  });

  it("the result backend's commands: SET with PX, GET, MGET, DEL, EXPIRE, PUBLISH/SUBSCRIBE", async () => {
    expect(await app.set('celery-task-meta-1', '{"status": "SUCCESS"}', 'PX', 86_400_000)).toBe('OK');
    expect(await app.pttl('celery-task-meta-1')).toBeGreaterThan(0);
    expect(await app.setex('celery-task-meta-2', 60, '{}')).toBe('OK');
    expect(await app.mget('celery-task-meta-1', 'celery-task-meta-2')).toEqual([
      '{"status": "SUCCESS"}',
      '{}',
    ]);
    expect(await app.expire('celery-task-meta-2', 120)).toBe(1);
    expect(await app.del('celery-task-meta-2')).toBe(1);

    const subscriber = await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app));
    const received = new Promise<[string, string]>((resolve) =>
      subscriber.on('message', (channel: string, message: string) => resolve([channel, message])),
    );
    await subscriber.subscribe('celery-task-meta-1');
    await subscriber.psubscribe('/0.celeryev/*');
    expect(await app.publish('celery-task-meta-1', 'done')).toBe(1);
    expect(await received).toEqual(['celery-task-meta-1', 'done']);
    subscriber.disconnect();
  });

  it('scripts (EVAL, SCRIPT LOAD, EVALSHA) and the cache (INCR, HSET, TTL)', async () => {
    const sha = String(await app.script('LOAD', "return redis.call('INCR', KEYS[1])"));
    expect(await app.evalsha(sha, 1, 'counter')).toBe(1);
    expect(await app.eval("return redis.call('INCR', KEYS[1])", 1, 'counter')).toBe(2);
    expect(await app.hset('cache:user:1', 'name', 'x')).toBe(1);
    expect(await app.ttl('cache:user:1')).toBe(-1);
    expect(await app.get('counter')).toBe('2');
  });
});

/** Commands an unauthenticated connection tries. */
const UNAUTHENTICATED = [
  ['PING'],
  ['INFO'],
  ['GET', 'secret'],
  ['SET', 'k', 'v'],
  ['SELECT', '0'],
  ['KEYS', '*'],
  ['FLUSHALL'],
  ['CONFIG', 'GET', 'maxmemory'],
  ['ACL', 'WHOAMI'],
  ['SUBSCRIBE', 'channel'],
  ['EVAL', 'return 1', '0'],
];

describe('DISABLED_DEFAULT_ACCESS_STRING: the default user every ElastiCache user group must hold', () => {
  /** The ElastiCache server, with no user at all (protocol 2: no HELLO, nothing sent on connect). */
  const anonymous = (): RedisTarget => ({
    host: HOST,
    port: tlsPort,
    tls: { ca: certs.pem.ca, servername: HOST },
  });

  async function expectLockedOut(): Promise<void> {
    for (const password of [PASSWORD.default, PASSWORD.app]) {
      expect(await connectionError(elasticacheTarget('default', password))).toMatch(/^WRONGPASS/);
    }
    const client = new Redis({ ...ioredisOptions(anonymous()), protocol: 2 });
    clients.push(client);
    client.on('error', () => {});
    await client.connect();
    const answers = [];
    for (const command of UNAUTHENTICATED)
      answers.push(`${command.join(' ')}: ${await outcome(client, command)}`);
    expect(answers).toEqual(UNAUTHENTICATED.map((command) => `${command.join(' ')}: NOAUTH`));
    expect(await outcome(client, ['AUTH', 'default', PASSWORD.default])).toBe('WRONGPASS');
    expect(await outcome(client, ['AUTH', PASSWORD.default])).toBe('WRONGPASS');
    client.disconnect();
    // The two users of the group still work.
    const app = await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app));
    expect(await app.get('secret')).toBe('only the application may read this');
    const monitor = await connect(elasticacheTarget(ELASTICACHE_MONITOR_USER, PASSWORD.monitor));
    expect(await monitor.info('keyspace')).toMatch(/db0:keys=2/);
  }

  it('after `reset`: AUTH as default fails, a connection that does not authenticate can run nothing', async () => {
    await expectLockedOut();
  });

  it('also over a stock default user (on nopass ~* &* +@all), without `reset` (which ElastiCache refuses in a string)', async () => {
    const app = await connect(elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app));
    try {
      await app.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '&*', '+@all');
      await setUser(app, 'default', DISABLED_DEFAULT_ACCESS_STRING, PASSWORD.default);
      await expectLockedOut();
    } finally {
      await app.call('ACL', 'SETUSER', 'default', 'reset');
      await setUser(app, 'default', DISABLED_DEFAULT_ACCESS_STRING, PASSWORD.default);
    }
  });
});

describe("consumers with this engine's connection settings: ioredis", () => {
  it("the project's path (RedisTarget, tlsFromEnvironment with REDIS_TLS_CA, ioredisOptions) round-trips as app", async () => {
    const target = elasticacheTarget(ELASTICACHE_APPLICATION_USER, PASSWORD.app);
    expect(ioredisOptions(target)).toMatchObject({
      host: HOST,
      username: 'app',
      password: PASSWORD.app,
      tls: { ca: certs.pem.ca, servername: HOST },
    });
    const app = await connect(target);
    expect(await app.set('ioredis:k', 'v', 'PX', 60_000)).toBe('OK');
    expect(await app.get('ioredis:k')).toBe('v');
    await app.lpush('ioredis:queue', 'job');
    expect(await app.brpop('ioredis:queue', 1)).toEqual(['ioredis:queue', 'job']);
    expect(await app.del('ioredis:k')).toBe(1);
  });

  it("a consumer's own ioredis options ({ host, port, username, password, tls: { ca, servername } }, ioredis defaults)", async () => {
    const options = (username: string, password: string) => ({
      host: HOST,
      port: tlsPort,
      username,
      password,
      tls: { ca: certs.pem.ca, servername: HOST },
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      disconnectTimeout: 50,
    });
    // ioredis's defaults: RESP3 (HELLO 3 AUTH), the ready check (INFO), CLIENT SETINFO.
    const app = new Redis(options('app', PASSWORD.app));
    const monitor = new Redis(options('monitor', PASSWORD.monitor));
    clients.push(app, monitor);
    expect(await app.set('consumer:k', 'v')).toBe('OK');
    expect(await app.get('consumer:k')).toBe('v');
    expect(await monitor.info('server')).toMatch(/redis_version:/);
    await expect(monitor.get('consumer:k')).rejects.toThrow(/^NOPERM/);
    expect(await app.del('consumer:k')).toBe(1);
    await app.quit();
    await monitor.quit();
  });

  it('monitor through the same path: INFO, DBSIZE and LLEN, but not GET', async () => {
    const monitor = await connect(elasticacheTarget(ELASTICACHE_MONITOR_USER, PASSWORD.monitor));
    expect(await monitor.info('keyspace')).toMatch(/db3:keys=2/);
    await monitor.select(3);
    expect(await monitor.dbsize()).toBe(2);
    expect(await monitor.llen('celery')).toBe(3);
    await expect(monitor.get('secret')).rejects.toThrow(/^NOPERM/);
  });

  it('the settings are really used: another CA, another host name, user default or plaintext are refused', async () => {
    const other = makeCertificates(dir, 'other');
    expect(await connectionError(elasticacheTarget('app', PASSWORD.app, other.pem.ca))).toMatch(
      /self-signed certificate in certificate chain/,
    );
    const wrongName = {
      ...elasticacheTarget('app', PASSWORD.app),
      tls: { ca: certs.pem.ca, servername: 'redis.example.com' },
    };
    expect(await connectionError(wrongName)).toMatch(/does not match certificate's altnames/);
    expect(await connectionError(elasticacheTarget('default', PASSWORD.app))).toMatch(/^WRONGPASS/);
    const { tls: _tls, ...plaintext } = elasticacheTarget('app', PASSWORD.app);
    // No plaintext port at all (ElastiCache with in-transit encryption): the TLS port drops it.
    expect(await connectionError(plaintext)).toMatch(/ECONNRESET|Connection is closed/);
  });
});
