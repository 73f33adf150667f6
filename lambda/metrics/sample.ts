import Redis from 'ioredis';
import { ioredisOptions, type RedisTarget } from '../shared/redis-connection';
import { parseInfo } from '../shared/redis-info';

/** What one look at Redis returns: INFO (all sections) and the configured queues' lengths. */
export interface RedisSample {
  readonly at: Date;
  readonly info: Readonly<Record<string, string>>;
  /** LLEN of each configured Celery queue, in `queueDatabase`. */
  readonly queueLengths: Readonly<Record<string, number>>;
}

export interface SampleOptions {
  /** Celery queue names (list keys) to measure. @default ['celery'] */
  readonly queues?: readonly string[];
  /** The database Celery's broker URL points at (`redis://...:6379/0`). @default 0 */
  readonly queueDatabase?: number;
  readonly now?: () => Date;
}

/**
 * Reads INFO and the queue lengths as the `monitor` ACL user (INFO, SELECT, LLEN: nothing that
 * reads a value or writes). Rejects when Redis cannot be reached or refuses the credentials.
 */
export async function sampleRedis(target: RedisTarget, options: SampleOptions = {}): Promise<RedisSample> {
  const client = new Redis({ ...ioredisOptions(target), db: options.queueDatabase ?? 0 });
  client.on('error', () => {}); // reported through the rejected commands below
  try {
    await client.connect();
    const info = parseInfo(await client.info('everything'));
    const queueLengths: Record<string, number> = {};
    for (const queue of options.queues ?? ['celery']) queueLengths[queue] = await client.llen(queue);
    return { at: (options.now ?? (() => new Date()))(), info, queueLengths };
  } finally {
    client.disconnect();
  }
}
