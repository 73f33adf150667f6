import { isIP, connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

/** Where and how to open the replication stream. Never logged as a whole (password). */
export interface RdbStreamOptions {
  readonly host: string;
  readonly port: number;
  /** ACL user. @default the default user (AUTH with the password only) */
  readonly username?: string;
  /** Omit (or leave empty) for a server without a password: no AUTH is sent. */
  readonly password?: string;
  /** TLS to Redis: true for the system trust store, or Node TLS options (ca, servername...). @default false */
  readonly tls?: boolean | ConnectionOptions;
  /** Give up when the TCP (and TLS) connection is not up after this long. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /**
   * Give up when Redis sends nothing for this long (its `\n` keepalives count). Not counted while
   * the stream is paused because its consumer is slow. @default 60_000
   */
  readonly idleTimeoutMs?: number;
  /** Aborting it destroys the stream with an error. */
  readonly signal?: AbortSignal;
}

/** `disk`: `$<length>` framing (Redis saved to disk first); `diskless`: `$EOF:<mark>` framing. */
export type RdbFraming = 'disk' | 'diskless';

/** The replication handshake or transfer failed (the message says where and why, without secrets). */
export class ReplicationError extends Error {
  override name = 'ReplicationError';
}

const MARK_LENGTH = 40;
const MAX_LINE = 4096;

type State = 'connecting' | 'handshake' | 'header' | 'payload' | 'done';

/**
 * The RDB payload of a Redis replication SYNC, as a byte stream: exactly the RDB file, framing
 * and end mark removed. Obtained the way `redis-cli --rdb` does it: AUTH, `REPLCONF capa eof`
 * (so a diskless master may stream), `REPLCONF rdb-only 1` (no command stream after the RDB),
 * `SYNC`; `\n` keepalives before the `$` header are skipped.
 *
 * Backpressure: when the consumer does not keep up, the socket is paused, so TCP flow control
 * slows Redis down instead of this process buffering the dump.
 *
 * Ends cleanly only after the full payload (disk: the announced length; diskless: the end mark);
 * any error reply, premature close, timeout or abort destroys it with a ReplicationError.
 * Create it with {@link openRdbStream}.
 */
export class RdbStream extends Readable {
  /** Set once the `$` header arrived. */
  framing: RdbFraming | undefined;
  /** Payload length announced by a disk-mode header. */
  expectedLength: number | undefined;
  /** Payload bytes delivered so far. */
  received = 0;

  private readonly socket: Socket;
  private readonly where: string;
  private readonly idleTimeoutMs: number;
  private state: State = 'connecting';
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: { command: string; args: string[] }[] = [];
  private current: string | undefined;
  private mark: Buffer | undefined;
  private tail: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private backpressured = false;
  private readonly onAbort: () => void;
  private readonly signal: AbortSignal | undefined;

  constructor(options: RdbStreamOptions) {
    super({ highWaterMark: 1024 * 1024 });
    const { host, port, username, password } = options;
    this.where = `${host}:${port}`;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.signal = options.signal;
    if (password !== undefined && password !== '') {
      this.pending.push({ command: 'AUTH', args: username ? [username, password] : [password] });
    }
    this.pending.push({ command: 'REPLCONF', args: ['capa', 'eof'] });
    this.pending.push({ command: 'REPLCONF', args: ['rdb-only', '1'] });
    this.pending.push({ command: 'SYNC', args: [] });

    const tlsOptions = options.tls === true ? {} : options.tls || undefined;
    this.socket = tlsOptions
      ? tlsConnect({ host, port, servername: isIP(host) ? undefined : host, ...tlsOptions })
      : netConnect({ host, port });
    this.socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => {
      this.fail(
        `could not connect to Redis at ${this.where} within ${options.connectTimeoutMs ?? 10_000} ms`,
      );
    }, options.connectTimeoutMs ?? 10_000);
    this.socket.once(tlsOptions ? 'secureConnect' : 'connect', () => this.onConnect());
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('error', (error: Error) =>
      this.fail(`connection to Redis at ${this.where} failed: ${error.message}`),
    );
    this.socket.on('close', () => this.onClose());

    this.onAbort = () => {
      const reason = this.signal?.reason;
      const why = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
      this.fail(`RDB transfer from ${this.where} aborted: ${why}`);
    };
    if (this.signal?.aborted) queueMicrotask(this.onAbort);
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  override _read(): void {
    if (this.backpressured) {
      this.backpressured = false;
      this.socket.resume();
      this.armIdle();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.state = 'done';
    this.clearTimers();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    callback(error);
  }

  private onConnect(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'handshake';
    this.armIdle();
    this.sendNext();
  }

  private sendNext(): void {
    const next = this.pending.shift();
    if (next === undefined) return;
    this.current = next.command;
    if (next.command === 'SYNC') this.state = 'header';
    const parts = [next.command, ...next.args];
    let wire = `*${parts.length}\r\n`;
    for (const part of parts) wire += `$${Buffer.byteLength(part)}\r\n${part}\r\n`;
    this.socket.write(wire);
  }

  private onData(data: Buffer): void {
    if (this.state === 'done') return;
    this.armIdle();
    if (this.state === 'payload') {
      this.onPayload(data);
      return;
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (this.state === 'handshake' || this.state === 'header') {
      if (this.state === 'header') {
        // Keepalives: bare "\n" while Redis prepares the RDB.
        let skip = 0;
        while (skip < this.buffer.length && this.buffer[skip] === 0x0a) skip++;
        if (skip > 0) this.buffer = this.buffer.subarray(skip);
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) {
        if (this.buffer.length > MAX_LINE)
          this.fail(`Redis at ${this.where} sent an unexpected reply to ${this.current}`);
        return;
      }
      const line = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      if (this.state === 'handshake') this.onReply(line);
      else this.onHeader(line);
    }
    // (read through a method: TypeScript keeps the loop condition's narrowing of `this.state`)
    if (this.stateIs('payload') && this.buffer.length > 0) {
      const rest = this.buffer;
      this.buffer = Buffer.alloc(0);
      this.onPayload(rest);
    }
  }

  private stateIs(state: State): boolean {
    return this.state === state;
  }

  private onReply(line: string): void {
    if (line.startsWith('-')) {
      this.fail(`Redis at ${this.where} refused ${this.describeCurrent()}: ${line.slice(1)}`);
      return;
    }
    if (!line.startsWith('+')) {
      this.fail(
        `Redis at ${this.where} sent an unexpected reply to ${this.describeCurrent()}: ${printable(line)}`,
      );
      return;
    }
    this.sendNext();
  }

  private onHeader(line: string): void {
    if (line.startsWith('-')) {
      this.fail(`Redis at ${this.where} refused SYNC: ${line.slice(1)}`);
      return;
    }
    if (line.startsWith('$EOF:')) {
      const mark = Buffer.from(line.slice(5), 'latin1');
      if (mark.length !== MARK_LENGTH) {
        this.fail(
          `Redis at ${this.where} sent a diskless RDB header with a ${mark.length}-byte end mark (expected ${MARK_LENGTH})`,
        );
        return;
      }
      this.mark = mark;
      this.framing = 'diskless';
    } else if (/^\$\d+$/.test(line)) {
      this.expectedLength = Number(line.slice(1));
      this.remaining = this.expectedLength;
      this.framing = 'disk';
    } else {
      this.fail(`Redis at ${this.where} sent an unexpected reply to SYNC: ${printable(line)}`);
      return;
    }
    this.state = 'payload';
    this.emit('framing', this.framing);
    if (this.framing === 'disk' && this.remaining === 0) this.finish();
  }

  private onPayload(data: Buffer): void {
    if (this.framing === 'disk') {
      const take = Math.min(data.length, this.remaining);
      this.remaining -= take;
      this.deliver(take === data.length ? data : data.subarray(0, take));
      if (this.remaining === 0) this.finish();
      return;
    }
    // Diskless: the payload ends with the 40-byte mark. Hold back the last 40 bytes until we know
    // whether they are the mark; like redis-cli, check for it at the end of every read.
    const mark = this.mark as Buffer;
    let tail: Buffer;
    if (data.length >= MARK_LENGTH) {
      if (this.tail.length > 0) this.deliver(this.tail);
      this.deliver(data.subarray(0, data.length - MARK_LENGTH));
      tail = data.subarray(data.length - MARK_LENGTH);
    } else {
      const combined = Buffer.concat([this.tail, data]);
      if (combined.length > MARK_LENGTH) this.deliver(combined.subarray(0, combined.length - MARK_LENGTH));
      tail = combined.length > MARK_LENGTH ? combined.subarray(combined.length - MARK_LENGTH) : combined;
    }
    if (tail.equals(mark)) {
      this.tail = Buffer.alloc(0);
      this.finish();
    } else {
      this.tail = Buffer.from(tail);
    }
  }

  private deliver(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.received += bytes.length;
    if (!this.push(bytes) && !this.backpressured && this.state === 'payload') {
      this.backpressured = true;
      this.socket.pause();
      // A paused socket receives nothing: do not count a slow consumer as an idle Redis.
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private finish(): void {
    this.state = 'done';
    this.clearTimers();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.push(null);
    // rdb-only: Redis drops the replica after the RDB anyway; nothing more is needed from it.
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.state === 'done') return;
    if (this.state === 'connecting') {
      this.fail(`connection to Redis at ${this.where} closed before it was established`);
    } else if (this.state === 'handshake') {
      this.fail(
        `Redis at ${this.where} closed the connection during the replication handshake (${this.describeCurrent()})`,
      );
    } else if (this.state === 'header') {
      this.fail(`Redis at ${this.where} closed the connection before sending the RDB (after SYNC)`);
    } else if (this.framing === 'disk') {
      this.fail(
        `Redis at ${this.where} closed the connection after ${this.received} of ${this.expectedLength} RDB bytes: the RDB is incomplete`,
      );
    } else {
      this.fail(
        `Redis at ${this.where} closed the connection after ${this.received + this.tail.length} RDB bytes without the end-of-RDB mark: the RDB is incomplete`,
      );
    }
  }

  private describeCurrent(): string {
    const current = this.current ?? 'the connection';
    return current === 'AUTH' ? 'AUTH (wrong user or password?)' : current;
  }

  private armIdle(): void {
    if (this.state === 'done' || this.state === 'connecting') return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.fail(`Redis at ${this.where} sent nothing for ${this.idleTimeoutMs} ms (state: ${this.state})`);
    }, this.idleTimeoutMs);
  }

  private clearTimers(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.connectTimer = undefined;
    this.idleTimer = undefined;
  }

  private fail(message: string): void {
    if (this.state === 'done' || this.destroyed) return;
    this.state = 'done';
    this.destroy(new ReplicationError(message));
  }
}

/**
 * Connects, runs the handshake and waits for the `$` header; resolves with the stream of the RDB
 * payload (its `framing` and, in disk mode, `expectedLength` set). Rejects with a
 * ReplicationError on a refused AUTH/REPLCONF/SYNC (Redis's text included, e.g. NOPERM), a
 * connection failure, a timeout or an abort.
 */
export function openRdbStream(options: RdbStreamOptions): Promise<RdbStream> {
  const stream = new RdbStream(options);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      stream.off('framing', onFraming);
      reject(error);
    };
    const onFraming = () => {
      stream.off('error', onError);
      resolve(stream);
    };
    stream.once('error', onError);
    stream.once('framing', onFraming);
  });
}

function printable(line: string): string {
  const shown = line.length > 80 ? `${line.slice(0, 80)}...` : line;
  return JSON.stringify(shown);
}
