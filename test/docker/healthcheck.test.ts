import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../../ops/local/ports';
import { HEALTHCHECK, PASSWORDS, parseInfo, RedisProcess, sleep } from '../../ops/local/redis-process';

function healthcheck(port: number, password: string): { status: number | null; output: string } {
  const result = spawnSync('sh', [HEALTHCHECK], {
    env: { PATH: process.env.PATH, REDIS_PORT: String(port), REDIS_PASSWORD: password },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('health check: `redis-cli --raw incr ping`, made honest', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('is healthy when Redis accepts the write, and the reply is an integer', () => {
    const result = healthcheck(redis.port, PASSWORDS.default);
    expect(result).toEqual({ status: 0, output: expect.stringMatching(/^healthy: ping=\d+/) });
  });

  it('is unhealthy with a wrong password (redis-cli itself would exit 0)', () => {
    const result = healthcheck(redis.port, 'a-wrong-password-123456');
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/unhealthy.*(NOAUTH|WRONGPASS)/s);
  });

  it('is unhealthy when Redis is down', async () => {
    const result = healthcheck(await freePort(), PASSWORDS.default);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/unhealthy/);
  });

  it('is unhealthy with -MISCONF after a failed background save', async () => {
    const broken = await RedisProcess.start();
    try {
      const client = broken.client();
      // Remove the data directory under the running server (as root, permissions would not stop
      // it; `dir` is a protected config): the next BGSAVE cannot create its temp file.
      rmSync(broken.dataDir, { recursive: true });
      await client.bgsave();
      for (let i = 0; i < 50; i++) {
        if (parseInfo(await client.info('persistence')).rdb_last_bgsave_status === 'err') break;
        await sleep(100);
      }
      const result = healthcheck(broken.port, PASSWORDS.default);
      expect(result.status).toBe(1);
      expect(result.output).toMatch(/unhealthy.*MISCONF/s);
    } finally {
      await broken.cleanup();
    }
  });

  it('is unhealthy with -OOM under noeviction when memory is full', async () => {
    const full = await RedisProcess.start({
      env: { REDIS_MAXMEMORY: '2mb', REDIS_MAXMEMORY_POLICY: 'noeviction' },
    });
    try {
      const client = full.client();
      for (let i = 0; i < 1_000; i++) {
        const reply = await client.set(`fill:${i}`, 'x'.repeat(10_000)).catch((error: Error) => error);
        if (reply instanceof Error) break;
      }
      const result = healthcheck(full.port, PASSWORDS.default);
      expect(result.status).toBe(1);
      expect(result.output).toMatch(/unhealthy.*OOM/s);
    } finally {
      await full.cleanup();
    }
  });
});
