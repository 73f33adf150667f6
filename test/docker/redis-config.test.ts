import Redis from 'ioredis';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';

// Every setting of the container spec, read back from a running server started with the project's
// entrypoint and redis.conf (not from the file).
describe('redis.conf + entrypoint on a real redis-server', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  async function configGet(name: string): Promise<string | undefined> {
    const reply = (await redis.client().config('GET', name)) as string[];
    return reply[1];
  }

  it.each([
    ['maxmemory', String(512 * 1024 * 1024)],
    ['maxmemory-policy', 'allkeys-lru'],
    ['maxmemory-samples', '5'],
    ['save', '900 1 300 10 60 10000'],
    ['rdbcompression', 'yes'],
    ['rdbchecksum', 'yes'],
    ['appendonly', 'yes'],
    ['appendfsync', 'everysec'],
    ['auto-aof-rewrite-min-size', String(64 * 1024 * 1024)],
    ['auto-aof-rewrite-percentage', '100'],
    ['aof-use-rdb-preamble', 'yes'],
    ['aof-load-truncated', 'yes'],
    ['stop-writes-on-bgsave-error', 'yes'],
    ['protected-mode', 'yes'],
    ['dbfilename', 'dump.rdb'],
  ])('CONFIG GET %s is %s', async (name, expected) => {
    expect(await configGet(name)).toBe(expected);
  });

  it('uses the data directory it was given and the requested port', async () => {
    expect(await configGet('dir')).toBe(redis.dataDir);
    expect(await configGet('port')).toBe(String(redis.port));
  });

  it('listens on all interfaces in the image (redis.conf), loopback only for redis:local', async () => {
    const { readFileSync } = await import('node:fs');
    const { REDIS_CONF } = await import('../../ops/local/redis-process');
    expect(readFileSync(REDIS_CONF, 'utf8')).toMatch(/^bind \* -::\*$/m);
    expect(await configGet('bind')).toBe('127.0.0.1');
  });

  it('refuses commands from a connection without the password (NOAUTH)', async () => {
    const anonymous = new Redis({
      host: '127.0.0.1',
      port: redis.port,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      disableClientInfo: true,
    });
    anonymous.on('error', () => {});
    try {
      await expect(anonymous.get('any')).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('refuses a wrong password', async () => {
    const wrong = redis.client('default', { password: 'not-the-password-at-all' });
    await expect(wrong.ping()).rejects.toThrow(/WRONGPASS/);
  });

  it('accepts the password Celery uses in redis://:PASSWORD@host:6379/0', async () => {
    const celery = new Redis(`redis://:${PASSWORDS.default}@127.0.0.1:${redis.port}/0`, {
      disableClientInfo: true,
    });
    try {
      expect(await celery.set('celery-url-check', '1')).toBe('OK');
    } finally {
      celery.disconnect();
    }
  });
});
