import type Redis from 'ioredis';
import type { CopyLimits } from './keys';

/** The bytes of a reply as read (bulk strings, nested arrays); what a chunk of a value costs in memory. */
export function replyBytes(reply: unknown): number {
  if (Buffer.isBuffer(reply)) return reply.length;
  if (typeof reply === 'string') return reply.length;
  if (Array.isArray(reply)) return reply.reduce((sum: number, item) => sum + replyBytes(item), 0);
  return 8;
}

/** Elements of the first read of a collection whose size in bytes nobody could tell (no MEMORY USAGE). */
const UNKNOWN_START = 16;

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, Math.floor(value)));
}

/**
 * How many elements the next read of a collection asks for, so that one read stays within
 * `limits.chunkBytes` whatever the elements' size: at first as the collection's MEMORY USAGE per
 * element says (or a few when it is unknown), then as the reads so far measured (at most doubling
 * from one read to the next), never more than `limits.chunkElements`, never fewer than one. LRANGE
 * and XRANGE return that many; the COUNT of HSCAN/SSCAN/ZSCAN is a hint, and a step of the hash
 * table takes a whole bucket (up to 7 elements in Valkey 8.1): a few elements more.
 */
export class ChunkSizer {
  private current: number;

  constructor(
    private readonly limits: CopyLimits,
    /** Elements in the collection, and its MEMORY USAGE in bytes (undefined when unknown). */
    size: number,
    usage: number | undefined,
  ) {
    this.current =
      usage === undefined || size <= 0
        ? Math.min(UNKNOWN_START, limits.chunkElements)
        : clamp(limits.chunkBytes / Math.max(1, usage / size), 1, limits.chunkElements);
  }

  /** Elements to ask for next. */
  get count(): number {
    return this.current;
  }

  /** After a read of `elements` elements that came to `bytes`. */
  observe(elements: number, bytes: number): void {
    if (elements <= 0) return;
    const fit = this.limits.chunkBytes / Math.max(1, bytes / elements);
    this.current = clamp(Math.min(fit, this.current * 2), 1, this.limits.chunkElements);
  }
}

/**
 * MEMORY USAGE of a key with up to `limits.chunkElements` elements sampled (every element of a small
 * collection), or undefined when the server does not answer it (an ACL without MEMORY, a gone key).
 */
export async function memoryUsage(
  client: Redis,
  key: Buffer,
  limits: CopyLimits,
): Promise<number | undefined> {
  try {
    const usage = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', limits.chunkElements);
    return usage === null ? undefined : Number(usage);
  } catch {
    return undefined;
  }
}
