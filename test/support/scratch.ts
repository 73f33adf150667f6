import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RedisProcess, type StartOptions } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';

/**
 * The temp directories and redis-servers one test made, cleaned up together in afterEach:
 * servers stopped by PID, directories removed.
 */
export class Scratch {
  private readonly dirs: string[] = [];
  private readonly servers: RedisProcess[] = [];

  /** A new temp directory. */
  dir(prefix = 'scratch'): string {
    const dir = makeTempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** The project's Redis (production configuration) on `dataDir`. */
  async redis(dataDir: string, options: Omit<StartOptions, 'dataDir'> = {}): Promise<RedisProcess> {
    const redis = await RedisProcess.start({ ...options, dataDir });
    this.servers.push(redis);
    return redis;
  }

  /** Stops `redis` cleanly (it persists) and expects exit code 0. */
  async stop(redis: RedisProcess): Promise<void> {
    const code = await redis.stop();
    this.servers.splice(this.servers.indexOf(redis), 1);
    if (code !== 0) throw new Error(`redis-server exited with ${code}:\n${redis.log}`);
  }

  /**
   * A data directory in which the project's Redis ran and persisted `keys` keys
   * (`old:<i>` = `old value <i>`): an appendonlydir and a dump.rdb, Redis stopped.
   */
  async oldDataDir(keys: number, prefix = 'old-data'): Promise<string> {
    const dir = this.dir(prefix);
    const old = await this.redis(dir);
    const pipeline = old.client().pipeline();
    for (let i = 0; i < keys; i++) pipeline.set(`old:${i}`, `old value ${i}`);
    await pipeline.exec();
    await old.client().save();
    await this.stop(old);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const server of this.servers.splice(0)) await server.cleanup();
    for (const dir of this.dirs.splice(0)) removeTempDir(dir);
  }
}

/** sha256 of every file under `dir` (relative path -> hash): "the directory is untouched". */
export function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else result[relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return result;
}
