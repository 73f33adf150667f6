import { spawnSync } from 'node:child_process';
import { chownSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../ops/local/ports';
import {
  ENTRYPOINT,
  HEALTHCHECK,
  PASSWORDS,
  parseInfo,
  REDIS_CONF,
  RedisProcess,
  sleep,
} from '../../ops/local/redis-process';
import { makeTempDir } from '../../ops/local/temp-dir';

/**
 * The health check as the container runs it. `runtimeDir`: where the entrypoint wrote this start's
 * health check password (the healthcheck user); without one (a directory that does not exist) it
 * falls back to REDIS_PASSWORD.
 */
function healthcheck(
  port: number,
  password: string,
  runtimeDir = '/nonexistent-runtime-dir',
): { status: number | null; output: string } {
  const result = spawnSync('sh', [HEALTHCHECK], {
    env: {
      PATH: process.env.PATH,
      REDIS_PORT: String(port),
      REDIS_PASSWORD: password,
      REDIS_RUNTIME_DIR: runtimeDir,
    },
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

  it('uses its own per-start user, so a rotation that retires the default password does not make Redis unhealthy', async () => {
    const runtimeDir = redis.runtimeDir;
    expect(healthcheck(redis.port, 'not-used-0123456789', runtimeDir)).toEqual({
      status: 0,
      output: expect.stringMatching(/^healthy: ping=\d+/),
    });
    // Two rotations later the task's REDIS_PASSWORD is no longer valid: the check still passes.
    const rotated = await RedisProcess.start();
    try {
      const client = rotated.client();
      await client.acl('SETUSER', 'default', 'resetpass', '>a-rotated-password-0123456789');
      expect(healthcheck(rotated.port, PASSWORDS.default).output).toMatch(/unhealthy.*WRONGPASS/s);
      expect(healthcheck(rotated.port, PASSWORDS.default, rotated.runtimeDir).status).toBe(0);
    } finally {
      await rotated.cleanup();
    }
  });

  it('the healthcheck user may INCR the key "ping" and nothing else', async () => {
    const password = readFileSync(join(redis.runtimeDir, 'healthcheck.pass'), 'utf8');
    const as = (...args: string[]) =>
      spawnSync(
        'redis-cli',
        ['-p', String(redis.port), '--user', 'healthcheck', '--no-auth-warning', ...args],
        {
          env: { ...process.env, REDISCLI_AUTH: password },
          encoding: 'utf8',
        },
      ).stdout.trim();
    expect(as('incr', 'ping')).toMatch(/^\d+$/);
    expect(as('get', 'ping')).toMatch(/NOPERM/);
    expect(as('incr', 'other')).toMatch(/NOPERM/);
    expect(as('flushall')).toMatch(/NOPERM/);
  });

  it("the operator user (ECS Exec sessions) has full access with this start's password; the files are 0600 in a 0700 directory", async () => {
    const password = readFileSync(join(redis.runtimeDir, 'operator.pass'), 'utf8');
    const as = (...args: string[]) =>
      spawnSync('redis-cli', ['-p', String(redis.port), '--user', 'operator', '--no-auth-warning', ...args], {
        env: { ...process.env, REDISCLI_AUTH: password },
        encoding: 'utf8',
      }).stdout.trim();
    expect(as('set', 'operator-key', 'v')).toBe('OK');
    expect(as('get', 'operator-key')).toBe('v');
    expect(statSync(redis.runtimeDir).mode & 0o777).toBe(0o700);
    for (const file of ['operator.pass', 'healthcheck.pass']) {
      expect(statSync(join(redis.runtimeDir, file)).mode & 0o777).toBe(0o600);
    }
  });

  it('refuses a runtime directory someone else owns (a planted one in a shared /tmp), with TLS; without TLS it skips the per-start users', async () => {
    const planted = makeTempDir('planted-runtime');
    chownSync(planted, 65534, 65534);
    const result = spawnSync('sh', [ENTRYPOINT], {
      env: {
        PATH: process.env.PATH,
        REDIS_PASSWORD: PASSWORDS.default,
        REDIS_CONF,
        REDIS_DATA_DIR: makeTempDir('planted-data'),
        REDIS_PORT: String(await freePort()),
        REDIS_RUNTIME_DIR: planted,
        REDIS_TLS: 'required',
      },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(
      /REDIS_RUNTIME_DIR='.*planted-runtime.*' cannot be created, is not this user's own/,
    );
    const plain = await RedisProcess.start({ env: { REDIS_RUNTIME_DIR: planted } });
    try {
      expect(plain.log).toMatch(
        /REDIS_RUNTIME_DIR='.*' is not usable: the health check will use REDIS_PASSWORD/,
      );
      expect(await plain.client().acl('USERS')).not.toContain('operator');
    } finally {
      await plain.cleanup();
    }
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
