import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInfo, RedisProcess, sleep } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';

describe('persistence: AOF and RDB as the spec configures them', () => {
  let dataDir: string;
  const started: RedisProcess[] = [];

  async function start(): Promise<RedisProcess> {
    const redis = await RedisProcess.start({ dataDir });
    started.push(redis);
    return redis;
  }

  beforeEach(() => {
    dataDir = makeTempDir('redis-persistence');
  });
  afterEach(async () => {
    for (const redis of started.splice(0)) await redis.cleanup();
    removeTempDir(dataDir);
  });

  it('writes an appendonlydir with a manifest and an incremental AOF', async () => {
    const redis = await start();
    await redis.client().set('a', '1');
    const files = readdirSync(join(dataDir, 'appendonlydir'));
    expect(files).toContain('appendonly.aof.manifest');
    expect(files.some((file) => file.endsWith('.incr.aof'))).toBe(true);
  });

  it('keeps every write acknowledged more than 2 s before a kill -9 (AOF, fsync everysec)', async () => {
    const redis = await start();
    const client = redis.client();
    const acknowledgedAt: number[] = [];
    const loadUntil = Date.now() + 3_500;
    for (let i = 0; Date.now() < loadUntil; i++) {
      await client.set(`load:${i}`, String(i));
      acknowledgedAt.push(Date.now());
    }
    const killedAt = Date.now();
    await redis.kill9();
    // A crash leaves no RDB behind (no save point fired in 3.5 s): only the AOF can bring data back.
    expect(existsSync(join(dataDir, 'dump.rdb'))).toBe(false);

    const restarted = await start();
    const mustSurvive = acknowledgedAt.filter((at) => at < killedAt - 2_000).length;
    expect(mustSurvive).toBeGreaterThan(100);
    const values = await restarted
      .client()
      .mget(...Array.from({ length: mustSurvive }, (_, i) => `load:${i}`));
    const missing = values.filter((value, i) => value !== String(i));
    expect(missing).toHaveLength(0);
  });

  it('keeps all data across a clean SIGTERM restart (ECS stop, docker stop)', async () => {
    const redis = await start();
    const client = redis.client();
    await client.hset('session:1', { user: 'ada', mailbox: 'inbox' });
    await client.rpush('celery', 'task-1', 'task-2');
    await client.set('meta', 'v', 'EX', 3600);
    expect(await redis.stop('SIGTERM')).toBe(0);
    expect(redis.log).toMatch(/ready to exit, bye bye/);

    const restarted = await start();
    const after = restarted.client();
    expect(await after.hgetall('session:1')).toEqual({ user: 'ada', mailbox: 'inbox' });
    expect(await after.lrange('celery', 0, -1)).toEqual(['task-1', 'task-2']);
    expect(await after.ttl('meta')).toBeGreaterThan(3500);
  });

  it('SIGINT (Ctrl-C on npm run redis:local) also shuts down cleanly and persists', async () => {
    const redis = await start();
    await redis.client().set('ctrl-c', 'kept');
    expect(await redis.stop('SIGINT')).toBe(0);
    const restarted = await start();
    expect(await restarted.client().get('ctrl-c')).toBe('kept');
  });

  it('fires RDB save points (mechanism shown with a 1 s / 1 change save point)', async () => {
    const redis = await start();
    const client = redis.client();
    // The spec's points are minutes apart; a short one proves the mechanism without the wait.
    await client.config('SET', 'save', '1 1');
    const before = Number(parseInfo(await client.info('persistence')).rdb_last_save_time);
    await client.set('snapshot-me', '1');
    let info = parseInfo(await client.info('persistence'));
    for (let waited = 0; info.rdb_changes_since_last_save !== '0' && waited < 5_000; waited += 100) {
      await sleep(100);
      info = parseInfo(await client.info('persistence'));
    }
    expect(info.rdb_changes_since_last_save).toBe('0');
    expect(info.rdb_last_bgsave_status).toBe('ok');
    expect(Number(info.rdb_last_save_time)).toBeGreaterThanOrEqual(before);
    expect(existsSync(join(dataDir, 'dump.rdb'))).toBe(true);
  });
});

describe('no Redis start while a restore changes the data directory (.restore.lock)', () => {
  it('refuses (exit 75) while the lock is fresh, and starts past a stale one with a warning', async () => {
    const dataDir = makeTempDir('restore-lock');
    const lock = join(dataDir, '.restore.lock');
    let redis: RedisProcess | undefined;
    try {
      writeFileSync(lock, 'restore of s3://b/k by pid 1 on lambda since 2026-11-25T03:00:00Z\n');
      await expect(RedisProcess.start({ dataDir })).rejects.toThrow(
        /exited \(code 75\)[\s\S]*a restore is changing .* \(.*\.restore\.lock is \d+ s old\); not starting Redis until it is done/,
      );
      // Untouched for 150 s: the restore that held it died (a live one touches it every 20 s).
      const old = new Date(Date.now() - 150 * 1000);
      utimesSync(lock, old, old);
      let warned = false;
      redis = await RedisProcess.start({
        dataDir,
        onOutput: (text) => {
          warned ||= /ignoring .*\.restore\.lock, \d+ s old: the restore that held it died/.test(text);
        },
      });
      expect(await redis.client().ping()).toBe('PONG');
      expect(warned).toBe(true);
    } finally {
      await redis?.cleanup();
      removeTempDir(dataDir);
    }
  });
});

describe('one Redis per data directory (the entrypoint holds a lock on it)', () => {
  it('refuses to start a second Redis on a directory in use, and starts once the first has exited', async () => {
    const dataDir = makeTempDir('redis-lock');
    const first = await RedisProcess.start({ dataDir });
    let second: RedisProcess | undefined;
    try {
      await first.client().set('written-by', 'first');
      await expect(
        RedisProcess.start({ dataDir, env: { REDIS_DATA_LOCK_WAIT_SECONDS: '1' } }),
      ).rejects.toThrow(/another Redis still holds .*\.redis\.lock after 1 s/);

      // A replacement that starts while the old one is still stopping waits for it (ECS overlap).
      let waiting = false;
      const replacement = RedisProcess.start({
        dataDir,
        env: { REDIS_DATA_LOCK_WAIT_SECONDS: '30' },
        onOutput: (text) => {
          waiting ||= /waiting up to 30 s for it to exit/.test(text);
        },
      });
      for (let waited = 0; !waiting && waited < 10_000; waited += 50) await sleep(50);
      expect(waiting).toBe(true);
      expect(await first.stop('SIGTERM')).toBe(0);
      second = await replacement;
      expect(await second.client().get('written-by')).toBe('first');
    } finally {
      await second?.cleanup();
      await first.cleanup();
      removeTempDir(dataDir);
    }
  });
});
