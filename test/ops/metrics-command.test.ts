import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';
import { metricValue, parseEmf } from '../lambda/metrics/emf';
import { runOps } from '../support/ops-cli';

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
