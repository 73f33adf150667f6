import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../../ops/local/ports';
import { ENTRYPOINT, PASSWORDS, REDIS_CONF, RedisProcess } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';

// A bad container environment must stop the container before Redis starts, with a message that
// names the variable and what is allowed.
describe('entrypoint refuses a bad environment', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = makeTempDir('entrypoint-env');
  });
  afterAll(() => removeTempDir(dataDir));

  async function runEntrypoint(env: Record<string, string>, args: string[] = []) {
    const result = spawnSync('sh', [ENTRYPOINT, ...args], {
      env: {
        PATH: process.env.PATH,
        REDIS_CONF,
        REDIS_DATA_DIR: dataDir,
        REDIS_RUNTIME_DIR: `${dataDir}/.runtime`,
        REDIS_PORT: String(await freePort()),
        ...env,
      },
      encoding: 'utf8',
      timeout: 5_000,
    });
    return { status: result.status, stderr: result.stderr, stdout: result.stdout };
  }

  it.each([
    ['REDIS_PASSWORD missing outside development', {}, /REDIS_PASSWORD is not set/],
    [
      'the spec default password outside development',
      { REDIS_PASSWORD: 'redis_development_password' },
      /REDIS_PASSWORD is the spec's development default.*REDIS_ENV=development/,
    ],
    [
      'a weak password',
      { REDIS_PASSWORD: 'short-pass' },
      /REDIS_PASSWORD is too short \(10 characters\).*at least 16/,
    ],
    [
      'a weak backup password',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_BACKUP_PASSWORD: 'weak' },
      /REDIS_BACKUP_PASSWORD is too short/,
    ],
    [
      'a weak monitor password',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MONITOR_PASSWORD: 'weak' },
      /REDIS_MONITOR_PASSWORD is too short/,
    ],
    [
      'a maxmemory that is not a size',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY: '512 megs' },
      /REDIS_MAXMEMORY='512 megs' is not a Redis memory size\. Allowed: .*512mb/,
    ],
    [
      'maxmemory 0 (unlimited)',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY: '0' },
      /REDIS_MAXMEMORY='0'/,
    ],
    [
      'an unknown eviction policy',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY_POLICY: 'lru' },
      /REDIS_MAXMEMORY_POLICY='lru' is not a Redis eviction policy\. Allowed: volatile-lru allkeys-lru .*noeviction/,
    ],
    [
      'a maxmemory with a line break (a smuggled directive)',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY: '512mb\nuser evil on nopass ~* +@all' },
      /REDIS_MAXMEMORY contains a line break/,
    ],
    [
      'a bind that is not a list of addresses',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_BIND: '127.0.0.1; protected-mode no' },
      /REDIS_BIND='127\.0\.0\.1; protected-mode no' is not a list of addresses/,
    ],
    [
      'a misspelled setting (it would silently leave the default in place)',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY_POLCY: 'noeviction' },
      /REDIS_MAXMEMORY_POLCY is not a setting of this image, so it would be ignored\. Did you mean REDIS_MAXMEMORY_POLICY\? Known: REDIS_ENV .*REDIS_RUNTIME_DIR\./,
    ],
    [
      'a misspelled password variable (its value is never echoed)',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MONITOR_PASWORD: 'monitor-secret-value-0123456789' },
      /REDIS_MONITOR_PASWORD is not a setting of this image.*Did you mean REDIS_MONITOR_PASSWORD\?/,
    ],
    [
      'an unknown REDIS_* variable with no close known name (no guess offered)',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_FOO: '1' },
      /REDIS_FOO is not a setting of this image, so it would be ignored\. Known: /,
    ],
    [
      'an unknown REDIS_ENV',
      { REDIS_ENV: 'dev', REDIS_PASSWORD: PASSWORDS.default },
      /REDIS_ENV='dev'.*development, production/,
    ],
  ])('%s', async (_case, env, message) => {
    const result = await runEntrypoint(env as Record<string, string>);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/refusing to start Redis/);
    // Redis never started: it would have printed its banner.
    expect(result.stdout + result.stderr).not.toMatch(/Redis version=/);
    // The value of a password is never echoed back.
    for (const [name, value] of Object.entries(env as Record<string, string>)) {
      if (/PASS?WORD$/.test(name) && value !== '') expect(result.stderr).not.toContain(value);
    }
  });

  it('refuses arguments (configuration comes from the environment only)', async () => {
    const result = await runEntrypoint({ REDIS_PASSWORD: PASSWORDS.default }, ['--maxmemory', '0']);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(/takes no arguments/);
  });

  it('accepts the spec default password in development, and a memory size in any unit', async () => {
    const redis = await RedisProcess.start({
      env: { REDIS_ENV: 'development', REDIS_PASSWORD: '', REDIS_MAXMEMORY: '1GB' },
    });
    try {
      const client = redis.client('default', { password: 'redis_development_password' });
      expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(1024 ** 3)]);
    } finally {
      await redis.cleanup();
    }
  });
});

describe('no password on a command line, in the logs or in the environment of Redis', () => {
  it('keeps every password out of ps, the log and /proc/<pid>/environ', async () => {
    const redis = await RedisProcess.start();
    try {
      await redis.client().ping();
      const cmdline = readFileSync(`/proc/${redis.pid}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${redis.pid}/environ`, 'utf8');
      const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
      expect(cmdline).toMatch(/redis-server/);
      for (const password of Object.values(PASSWORDS)) {
        expect(cmdline).not.toContain(password);
        expect(ps).not.toContain(password);
        expect(environ).not.toContain(password);
        expect(redis.log).not.toContain(password);
      }
    } finally {
      await redis.cleanup();
    }
  });
});

// The image's /bin/sh is Debian's dash: run the scripts under dash, whatever this machine's sh is.
describe("under dash (the image's /bin/sh)", () => {
  it('starts Redis with the rendered settings and ACL users', async () => {
    const redis = await RedisProcess.start({
      entrypointShell: ['dash'],
      env: { REDIS_MAXMEMORY: '256mb' },
    });
    try {
      expect(await redis.client().config('GET', 'maxmemory')).toEqual(['maxmemory', String(256 * 1024 ** 2)]);
      expect(await redis.client('backup').ping()).toBe('PONG');
      expect(await redis.client().acl('USERS')).toEqual([
        'backup',
        'default',
        'healthcheck',
        'monitor',
        'operator',
      ]);
    } finally {
      await redis.cleanup();
    }
  });

  it('refuses a bad policy with the same message', () => {
    const result = spawnSync('dash', [ENTRYPOINT], {
      env: { PATH: process.env.PATH, REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY_POLICY: 'lru' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(/REDIS_MAXMEMORY_POLICY='lru' is not a Redis eviction policy/);
  });
});
