import { parseInfo, RedisProcess } from '../../ops/local/redis-process';

// Writing past maxmemory (set small here through REDIS_MAXMEMORY) shows the eviction policy at work.
const VALUE = 'x'.repeat(10_000);

async function writeUntil(redis: RedisProcess, count: number): Promise<Array<string | Error>> {
  const client = redis.client();
  const results: Array<string | Error> = [];
  for (let i = 0; i < count; i++) {
    results.push(await client.set(`key:${i}`, VALUE).catch((error: Error) => error));
  }
  return results;
}

describe('maxmemory and eviction policy', () => {
  it('allkeys-lru evicts old keys and keeps accepting writes past maxmemory', async () => {
    const redis = await RedisProcess.start({ env: { REDIS_MAXMEMORY: '4mb' } });
    try {
      const results = await writeUntil(redis, 2_000); // ~20 MB into 4 MB
      expect(results.every((result) => result === 'OK')).toBe(true);
      const info = parseInfo(await redis.client().info('stats'));
      expect(Number(info.evicted_keys)).toBeGreaterThan(0);
      expect(await redis.client().dbsize()).toBeLessThan(2_000);
    } finally {
      await redis.cleanup();
    }
  });

  it('noeviction refuses writes with OOM once maxmemory is reached, and evicts nothing', async () => {
    const redis = await RedisProcess.start({
      env: { REDIS_MAXMEMORY: '4mb', REDIS_MAXMEMORY_POLICY: 'noeviction' },
    });
    try {
      const results = await writeUntil(redis, 2_000);
      const failures = results.filter((result): result is Error => result instanceof Error);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures[0]?.message).toMatch(/^OOM/);
      const info = parseInfo(await redis.client().info('stats'));
      expect(info.evicted_keys).toBe('0');
    } finally {
      await redis.cleanup();
    }
  });
});
