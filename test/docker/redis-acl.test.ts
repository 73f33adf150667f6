import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';

const run = promisify(execFile);

// The least-privilege users the entrypoint creates beside the default user.
describe('ACL users: backup and monitor', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    const client = redis.client();
    await client.set('secret-value', 'only-the-app-may-read-this');
    await client.rpush('celery', 'task');
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('backup: `redis-cli --rdb` receives a valid RDB over SYNC (REDISCLI_AUTH, no password in argv)', async () => {
    const target = join(redis.dataDir, 'backup-user.rdb');
    await run('redis-cli', ['-p', String(redis.port), '--user', 'backup', '--rdb', target], {
      env: { ...process.env, REDISCLI_AUTH: PASSWORDS.backup },
    });
    expect(readFileSync(target).subarray(0, 5).toString()).toBe('REDIS');
    const check = await run('redis-check-rdb', [target]);
    expect(check.stdout).toMatch(/RDB looks OK/);
  });

  it.each([
    ['SET', ['set', 'k', 'v']],
    ['GET', ['get', 'secret-value']],
    ['FLUSHALL', ['flushall']],
    ['CONFIG', ['config', 'get', 'dir']],
    ['KEYS', ['keys', '*']],
  ])('backup cannot run %s', async (_name, command) => {
    const [name, ...args] = command as [string, ...string[]];
    await expect(redis.client('backup').call(name, ...args)).rejects.toThrow(/NOPERM/);
  });

  it('backup can PING and read INFO', async () => {
    const backup = redis.client('backup');
    expect(await backup.ping()).toBe('PONG');
    expect(await backup.info('server')).toMatch(/redis_version:7\./);
  });

  it('monitor can read INFO, DBSIZE, SLOWLOG GET and queue lengths (LLEN)', async () => {
    const monitor = redis.client('monitor');
    expect(await monitor.info()).toMatch(/# Keyspace/);
    expect(await monitor.dbsize()).toBeGreaterThanOrEqual(2);
    expect(Array.isArray(await monitor.slowlog('GET', 10))).toBe(true);
    expect(await monitor.llen('celery')).toBe(1);
    expect(await monitor.select(1)).toBe('OK');
  });

  it.each([
    ['GET', ['get', 'secret-value']],
    ['LRANGE', ['lrange', 'celery', '0', '-1']],
    ['SET', ['set', 'k', 'v']],
    ['LPUSH', ['lpush', 'celery', 'x']],
    ['SLOWLOG RESET', ['slowlog', 'reset']],
    ['CONFIG', ['config', 'get', 'dir']],
    ['SYNC', ['sync']],
  ])('monitor cannot run %s', async (_name, command) => {
    const [name, ...args] = command as [string, ...string[]];
    await expect(redis.client('monitor').call(name, ...args)).rejects.toThrow(/NOPERM/);
  });

  it('users without a password variable are not created', async () => {
    const bare = await RedisProcess.start({ env: { REDIS_BACKUP_PASSWORD: '', REDIS_MONITOR_PASSWORD: '' } });
    try {
      const users = await bare.client().acl('USERS');
      expect(users).toEqual(['default', 'healthcheck', 'operator']); // the health check's own user, made at each start
    } finally {
      await bare.cleanup();
    }
  });

  it('stores passwords only as SHA-256 hashes (ACL LIST shows no plain text)', async () => {
    const acl = ((await redis.client().acl('LIST')) as string[]).join('\n');
    for (const password of Object.values(PASSWORDS)) expect(acl).not.toContain(password);
    expect(acl).toMatch(/user backup on .*#[0-9a-f]{64}/);
  });
});
