import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';

const PREVIOUS = {
  default: 'previous-default-password-0123456789',
  backup: 'previous-backup-password-0123456789',
  monitor: 'previous-monitor-password-0123456789',
};
const ROTATOR = 'rotator-password-0123456789abcdef';
const run = promisify(execFile);

/** `command` (default PING) with redis-cli as `user` with `password`: its reply or its error. */
async function authenticate(
  port: number,
  user: string,
  password: string,
  command: string[] = ['ping'],
): Promise<string> {
  const { stdout, stderr } = await run(
    'redis-cli',
    ['-h', '127.0.0.1', '-p', String(port), '--user', user, '--no-auth-warning', ...command],
    { env: { ...process.env, REDISCLI_AUTH: password } },
  ).catch((error: { stdout: string; stderr: string }) => error);
  return `${stdout}${stderr}`.trim();
}

// The container renders each user's current AND previous password (Secrets Manager's AWSCURRENT and
// AWSPREVIOUS), so a restart between two rotations cuts off no client; the rotation function has a
// user of its own that can set passwords and read or write nothing.
describe('ACL users for password rotation (the entrypoint, a real redis-server)', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start({
      env: {
        REDIS_PASSWORD_PREVIOUS: PREVIOUS.default,
        REDIS_BACKUP_PASSWORD_PREVIOUS: PREVIOUS.backup,
        REDIS_MONITOR_PASSWORD_PREVIOUS: PREVIOUS.monitor,
        REDIS_ROTATOR_PASSWORD: ROTATOR,
      },
    });
  });
  afterAll(() => redis.cleanup());

  it.each(['default', 'backup', 'monitor'] as const)(
    '%s: the current and the previous password are both valid',
    async (user) => {
      expect(await authenticate(redis.port, user, PASSWORDS[user])).toBe('PONG');
      expect(await authenticate(redis.port, user, PREVIOUS[user])).toBe('PONG');
      expect(await authenticate(redis.port, user, 'not-a-password-0123456789')).toMatch(/WRONGPASS/);
    },
  );

  it('the rotator may set passwords, and reads or writes no data', async () => {
    expect(await authenticate(redis.port, 'rotator', ROTATOR)).toBe('PONG');
    expect(await authenticate(redis.port, 'rotator', ROTATOR, ['get', 'k'])).toMatch(/NOPERM/);
    expect(await authenticate(redis.port, 'rotator', ROTATOR, ['set', 'k', 'v'])).toMatch(/NOPERM/);
    expect(await authenticate(redis.port, 'rotator', ROTATOR, ['keys', '*'])).toMatch(/NOPERM/);
    expect(await authenticate(redis.port, 'rotator', ROTATOR, ['acl', 'list'])).toMatch(/NOPERM/);
    const added = 'added-by-rotation-0123456789abcd';
    expect(
      await authenticate(redis.port, 'rotator', ROTATOR, ['acl', 'setuser', 'monitor', `>${added}`]),
    ).toBe('OK');
    expect(await authenticate(redis.port, 'monitor', added)).toBe('PONG');
    expect(await authenticate(redis.port, 'monitor', PASSWORDS.monitor)).toBe('PONG');
  });

  it("keeps the previous passwords and the rotator password out of redis-server's environment", async () => {
    const { readFileSync } = await import('node:fs');
    const environ = readFileSync(`/proc/${redis.pid}/environ`, 'utf8');
    for (const secret of [...Object.values(PREVIOUS), ROTATOR]) expect(environ).not.toContain(secret);
  });

  it('refuses a previous password without a current one (exit 64)', async () => {
    await expect(
      RedisProcess.start({
        env: { REDIS_BACKUP_PASSWORD: '', REDIS_BACKUP_PASSWORD_PREVIOUS: PREVIOUS.backup },
      }),
    ).rejects.toThrow(
      /exited \(code 64\)[\s\S]*REDIS_BACKUP_PASSWORD_PREVIOUS is set without REDIS_BACKUP_PASSWORD/,
    );
  });
});
