import { Transform, type TransformCallback } from 'node:stream';
import type { BackupLogger, BackupMetrics } from '../../../lambda/backup';
import { PASSWORDS } from '../../../ops/local/redis-process';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** A logger and metrics that record what the backup reports (and print nothing). */
export function recorder(): {
  logger: BackupLogger;
  metrics: BackupMetrics;
  logs: LogEntry[];
  metricCalls: [string, string, number][];
} {
  const logs: LogEntry[] = [];
  const metricCalls: [string, string, number][] = [];
  const log =
    (level: LogEntry['level']) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      logs.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  return {
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      addMetric(name, unit, value) {
        metricCalls.push([name, unit, value]);
      },
    },
    logs,
    metricCalls,
  };
}

/** The backup user's target on a local port. */
export function backupUser(port: number, password: string = PASSWORDS.backup) {
  return { host: '127.0.0.1', port, username: 'backup', password };
}

/** A clock that runs from `start` at real speed (durations stay real, keys predictable). */
export function clockFrom(start: string): () => Date {
  const base = Date.parse(start);
  const t0 = Date.now();
  return () => new Date(base + (Date.now() - t0));
}

/**
 * A pass-through that calls `onProgress(bytesSoFar, chunk)` for every chunk before passing it on
 * (it may await: a slow consumer, a kill at the right moment) and lets `edit` change the chunk.
 */
export function tap(options: {
  onChunk?: (offset: number, chunk: Buffer) => Promise<void> | void;
  edit?: (offset: number, chunk: Buffer) => Buffer;
  delayMs?: number;
}): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const at = offset;
      offset += chunk.length;
      const go = async () => {
        if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        await options.onChunk?.(at, chunk);
        return options.edit ? options.edit(at, chunk) : chunk;
      };
      go().then(
        (out) => callback(null, out),
        (error: Error) => callback(error),
      );
    },
  });
}

/** Flips one bit of the byte at absolute stream offset `target`. */
export function flipByteAt(target: number): Transform {
  return tap({
    edit: (offset, chunk) => {
      if (target < offset || target >= offset + chunk.length) return chunk;
      const copy = Buffer.from(chunk);
      copy[target - offset] = (copy[target - offset] as number) ^ 0x10;
      return copy;
    },
  });
}

/** Passes everything except the last `n` bytes of the stream (a transfer cut short). */
export function dropLast(n: number): Transform {
  let held = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const all = Buffer.concat([held, chunk]);
      const cut = Math.max(0, all.length - n);
      held = all.subarray(cut);
      callback(null, all.subarray(0, cut));
    },
    flush(callback) {
      callback();
    },
  });
}
