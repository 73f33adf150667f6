import { join } from 'node:path';
import Redis from 'ioredis';
import { KOMBU_PRIORITY_SEPARATOR } from '../../lambda/metrics';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  ELASTICACHE_APPLICATION_USER,
  ELASTICACHE_MONITOR_USER,
  MONITOR_ACCESS_STRING,
} from '../../lib/constructs/elasticache/access-strings';
import { formatSummary, serverName } from '../../ops/actions/metrics';
import { freePort } from '../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { metricValue, parseEmf } from '../lambda/metrics/emf';
import { runOps } from '../support/ops-cli';
import { makeCertificates, type TestCertificates } from '../support/tls';

// `npm run -s ops -- metrics`: the metrics core as an operator's command, run as a separate
// process against a real Redis: a readable summary, or (--emf) exactly the EMF lines the function
// would log.
describe('ops metrics', () => {
  let redis: RedisProcess;
  const asMonitor = { REDISCLI_AUTH: PASSWORDS.monitor };
  let url: string;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    url = `redis://monitor@127.0.0.1:${redis.port}`;
    const client = redis.client();
    await client.rpush('celery', 'a', 'b', 'c');
    await client.rpush('emails', 'x');
    await client.select(1);
    await client.set('result', 'v');
  });
  afterAll(() => redis.cleanup());

  it('prints a readable summary by default: memory, evictions, persistence, keys, queue lengths', async () => {
    const result = await runOps(['metrics', '--redis-url', url, '--queues', 'celery,emails'], asMonitor);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Redis 7\.\d+\.\d+ at monitor@127\.0\.0\.1:\d+, up \d+ s$/);
    expect(result.stdout).toMatch(
      /^ {2}memory: +[\d.]+ MiB of 512\.0 MiB maxmemory \([\d.]+%\), policy allkeys-lru,/m,
    );
    expect(result.stdout).toMatch(/^ {2}evictions: +0 since start$/m);
    expect(result.stdout).toMatch(
      /^ {2}persistence: +AOF on \(last write ok, last rewrite ok, .*\); last RDB save ok/m,
    );
    expect(result.stdout).toMatch(/^ {2}keys: +3 \(db0 2, db1 1\)$/m);
    expect(result.stdout).toMatch(/^ {2}queues \(db0\): celery 3, emails 1$/m);
    expect(result.stdout).not.toContain('_aws');
    expect(result.stdout).not.toContain(PASSWORDS.monitor);
  });

  it('--emf prints the EMF documents of one sample, with the function’s namespace and dimensions', async () => {
    const result = await runOps(
      ['metrics', '--redis-url', url, '--queues', 'celery,emails', '--emf', '--emf-stage', 'dev'],
      asMonitor,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const documents = parseEmf(result.stdout);
    expect(documents).toHaveLength(lines.length); // nothing but EMF on stdout
    for (const document of documents) {
      expect(document._aws.CloudWatchMetrics[0]?.Namespace).toBe('EmailPlatform/Redis');
      expect(document).toMatchObject({ service: 'redis-metrics', Stage: 'dev' });
    }
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(3);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'emails' })).toBe(1);
    expect(metricValue(documents, 'Keys', { Database: 'db0' })).toBe(2);
    expect(metricValue(documents, 'Keys', { Database: 'db1' })).toBe(1);
    expect(metricValue(documents, 'Keys')).toBe(3);
    expect(metricValue(documents, 'MaxMemory')).toBe(512 * 1024 * 1024);
    expect(result.stdout).not.toContain(PASSWORDS.monitor);
  });

  it('with --samples 2 prints a second sample whose per-interval counters come from the first', async () => {
    const result = await runOps(
      ['metrics', '--redis-url', url, '--samples', '2', '--interval-seconds', '1', '--emf'],
      asMonitor,
    );
    expect(result.code).toBe(0);
    const samples = parseEmf(result.stdout).filter((document) => 'RedisUp' in document);
    expect(samples).toHaveLength(2);
    const [first, second] = samples;
    expect(second?._aws.Timestamp).toBeGreaterThanOrEqual((first?._aws.Timestamp ?? 0) + 1000);
    // The first sample's own LLEN (a hit on "celery") is not counted as application traffic.
    expect(metricValue(samples.slice(1), 'KeyspaceHits')).toBe(0);
    expect(metricValue(samples.slice(1), 'EvictedKeys')).toBe(0);
  });

  it('exits 1 with the reason on stderr, and prints RedisUp = 0, when the password is wrong', async () => {
    const result = await runOps(['metrics', '--redis-url', url, '--emf'], {
      REDISCLI_AUTH: 'not-the-password-0123456789',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^ops metrics: Redis monitor@127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/,
    );
    expect(metricValue(parseEmf(result.stdout), 'RedisUp')).toBe(0);
    expect(result.stdout + result.stderr).not.toContain('not-the-password');
  });

  it('exits 1 and prints RedisUp = 0 when nothing listens', async () => {
    const result = await runOps(
      ['metrics', '--redis-url', 'redis://monitor@127.0.0.1:1', '--emf'],
      asMonitor,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is unreachable: connect ECONNREFUSED/);
    expect(metricValue(parseEmf(result.stdout), 'RedisUp')).toBe(0);
    const summary = await runOps(['metrics', '--redis-url', 'redis://monitor@127.0.0.1:1'], asMonitor);
    expect(summary.code).toBe(1);
    expect(summary.stderr).toMatch(/^ops metrics: .*is unreachable: connect ECONNREFUSED/);
    expect(summary.stdout).toBe('');
  });

  it.each([
    [
      ['--redis-url', 'URL', '--interval-seconds', 'soon'],
      "argument 'soon' is invalid. expected a whole number, 1 or more.",
    ],
    [
      ['--redis-url', 'URL', '--queue-db', '99'],
      "argument '99' is invalid. expected a whole number, 0 to 15.",
    ],
    [
      ['--redis-url', 'URL', '--queue-db', '-1'],
      "argument '-1' is invalid. expected a whole number, 0 to 15.",
    ],
    [[], 'missing --redis-url <url>'],
  ])('%j is a usage error: exit 2 before connecting, and where the help is', async (args, message) => {
    const result = await runOps(['metrics', ...args.map((arg) => (arg === 'URL' ? url : arg))], asMonitor);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("Run 'npm run -s ops -- help metrics' for its options and examples.");
    expect(result.stdout).toBe('');
  });
});

// `ops metrics` against an ElastiCache stage's endpoint, as closely as it can be had here: a real
// redis-server serving TLS only, whose users are ElastiCache's user group made from the access
// strings the stage deploys (default off, app, monitor with MONITOR_ACCESS_STRING exactly), reached
// as rediss://monitor@<host name>:<tls port>. Its CA is this test's own: given to Node's trust store
// (NODE_EXTRA_CA_CERTS: what Amazon's public roots are for ElastiCache), or with --ca-file.
describe('ops metrics on an ElastiCache stage (TLS only, the monitor access string)', () => {
  const PASSWORD = {
    app: 'elasticache-app-password-0123456789',
    monitor: 'elasticache-monitor-password-0123456789',
    default: 'elasticache-default-password-0123456789',
  } as const;
  const HOST = 'localhost';
  let dir: string;
  let certs: TestCertificates;
  let server: RedisProcess;
  let tlsPort: number;
  let url: string;
  const asMonitor = () => ({ REDISCLI_AUTH: PASSWORD.monitor, NODE_EXTRA_CA_CERTS: certs.ca });

  /** A connected TLS client as `user` (verified against the test CA), closed by the caller. */
  async function tlsClient(user: string, password: string): Promise<Redis> {
    const client = new Redis({
      host: HOST,
      port: tlsPort,
      username: user,
      password,
      tls: { ca: certs.pem.ca, servername: HOST },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      disableClientInfo: true,
      disconnectTimeout: 50,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  /** `ACL SETUSER <name> <access string> >password`, as ElastiCache applies a user's access string. */
  function setUser(client: Redis, name: string, accessString: string, password: string): Promise<unknown> {
    const rules = accessString.split(/\s+/).filter((rule) => rule !== '');
    return client.call('ACL', 'SETUSER', name, ...rules, `>${password}`);
  }

  beforeAll(async () => {
    dir = makeTempDir('ops-metrics-elasticache');
    certs = makeCertificates(dir);
    tlsPort = await freePort();
    server = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'runtime'),
      },
    });
    url = `rediss://monitor@${HOST}:${tlsPort}`;
    // ElastiCache's user group: the image's users go; app and monitor come from the access strings;
    // default is switched off last.
    const admin = await tlsClient('default', PASSWORDS.default);
    await admin.call('ACL', 'DELUSER', 'monitor', 'backup', 'healthcheck', 'operator');
    await setUser(admin, ELASTICACHE_APPLICATION_USER, APPLICATION_ACCESS_STRING, PASSWORD.app);
    await setUser(admin, ELASTICACHE_MONITOR_USER, MONITOR_ACCESS_STRING, PASSWORD.monitor);
    admin.disconnect();
    const app = await tlsClient(ELASTICACHE_APPLICATION_USER, PASSWORD.app);
    await app.call('ACL', 'SETUSER', 'default', 'reset');
    await setUser(app, 'default', DISABLED_DEFAULT_ACCESS_STRING, PASSWORD.default);
    expect(await app.call('ACL', 'USERS')).toEqual(['app', 'default', 'monitor']);
    // The monitor user holds exactly the access string's commands (Redis may reorder them).
    const monitor = (await app.call('ACL', 'GETUSER', 'monitor')) as unknown[];
    const commands = String(monitor[monitor.indexOf('commands') + 1])
      .split(' ')
      .sort();
    expect(commands).toEqual(
      MONITOR_ACCESS_STRING.split(' ')
        .filter((rule) => /^[+-]/.test(rule))
        .sort(),
    );
    // A Celery queue with a priority list in db 0, a result in db 1, a cache key in db 4.
    await app.rpush('celery', 'a', 'b');
    await app.rpush(`celery${KOMBU_PRIORITY_SEPARATOR}3`, 'p');
    await app.rpush('emails', 'x');
    await app.select(1);
    await app.set('celery-task-meta-1', '{}');
    await app.select(4);
    await app.set('cache:1', 'v');
    app.disconnect();
  }, 30_000);
  afterAll(async () => {
    await server?.cleanup();
    if (dir) removeTempDir(dir);
  });

  it('rediss://monitor@host:port, verified with the trust store (no --ca-file): the whole summary, no refused command', async () => {
    const result = await runOps(['metrics', '--redis-url', url, '--queues', 'celery,emails'], asMonitor());
    // Any command the monitor ACL refused (SELECT, LLEN, DBSIZE) would be a warning here.
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^Redis 7\\.\\d+\\.\\d+ at monitor@localhost:${tlsPort} \\(tls\\), up \\d+ s$`),
    );
    expect(result.stdout).toMatch(/^ {2}keys: +5 \(db0 3, db1 1, db4 1\)$/m);
    expect(result.stdout).toMatch(/^ {2}queues \(db0\): celery 3, emails 1$/m);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD.monitor);
  });

  it('--emf: RedisUp 1 and every point, with the ElastiCache monitor user alone', async () => {
    const result = await runOps(
      ['metrics', '--redis-url', url, '--queues', 'celery,emails', '--emf', '--emf-stage', 'prod'],
      asMonitor(),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const documents = parseEmf(result.stdout);
    expect(metricValue(documents, 'RedisUp')).toBe(1);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'celery' })).toBe(3);
    expect(metricValue(documents, 'CeleryQueueLength', { Queue: 'emails' })).toBe(1);
    expect(metricValue(documents, 'Keys', { Database: 'db4' })).toBe(1);
    expect(metricValue(documents, 'Keys')).toBe(5);
  });

  it('--ca-file instead of the trust store works the same', async () => {
    const result = await runOps(['metrics', '--redis-url', url, '--ca-file', certs.ca], {
      REDISCLI_AUTH: PASSWORD.monitor,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}queues \(db0\): celery 3$/m);
  });

  it('verifies the certificate: a CA the trust store lacks is refused (exit 1), nothing is sampled', async () => {
    const result = await runOps(['metrics', '--redis-url', url], { REDISCLI_AUTH: PASSWORD.monitor });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ops metrics: Redis monitor@localhost:\d+ \(tls\) .*certificate/);
    expect(result.stdout).toBe('');
  });

  it('the default user of the group is off: without the monitor user nothing is sampled', async () => {
    const result = await runOps(['metrics', '--redis-url', `rediss://${HOST}:${tlsPort}`], {
      REDISCLI_AUTH: PASSWORD.default,
      NODE_EXTRA_CA_CERTS: certs.ca,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused the credentials: WRONGPASS/);
  });
});

describe('ops metrics: the summary names the engine', () => {
  it('Valkey (ElastiCache’s default engine) by its own version, Redis by redis_version', () => {
    expect(serverName({ redis_version: '7.2.4', valkey_version: '8.1.1', server_name: 'valkey' })).toBe(
      'Valkey 8.1.1',
    );
    expect(serverName({ redis_version: '7.1.0' })).toBe('Redis 7.1.0');
    const summary = formatSummary(
      'monitor@master.prod-redis.abc123.euw1.cache.amazonaws.com:6380 (tls)',
      {
        at: new Date(),
        info: { redis_version: '7.2.4', valkey_version: '8.1.1', maxmemory_policy: 'noeviction' },
        databaseKeys: {},
        queueLengths: {},
        problems: [],
        ownLookups: { hits: 0, misses: 0 },
      },
      [],
      0,
      false,
    );
    expect(summary.split('\n')[0]).toBe(
      'Valkey 8.1.1 at monitor@master.prod-redis.abc123.euw1.cache.amazonaws.com:6380 (tls)',
    );
  });
});
