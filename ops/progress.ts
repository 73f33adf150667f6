import { Transform } from 'node:stream';
import { formatBytes, terminal } from './cli-kit';

/** The size of a transfer: exact (announced), or estimated (`~`, e.g. the previous snapshot's). */
export interface TransferSize {
  readonly bytes: number;
  readonly estimated?: boolean;
}

/**
 * One transfer's progress on a terminal: bytes, rate and, when the size is known, percent and
 * ETA (`download: 120.0 MiB of 412.3 MiB (29%), 48.2 MiB/s, ETA 0:06`). Redrawn at most every
 * 200 ms; nothing at all when stderr is not a terminal.
 */
export class TransferProgress {
  private bytes = 0;
  private lastDraw = 0;
  private readonly started: number;

  constructor(
    private readonly label: string,
    private total: TransferSize | undefined = undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** The size, once it is known (e.g. announced by Redis after the transfer began). */
  setTotal(total: TransferSize | undefined): void {
    this.total = total;
  }

  add(bytes: number): void {
    this.bytes += bytes;
    const at = this.now();
    if (at - this.lastDraw < 200) return;
    this.lastDraw = at;
    terminal.progress(describeTransfer(this.label, this.bytes, this.total, at - this.started));
  }

  /** A Transform that counts what passes through it. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk.length);
        callback(null, chunk);
      },
    });
  }

  /** Clears the line; returns `412.3 MiB in 8.6 s (48.0 MiB/s)` for a closing message. */
  finish(): string {
    terminal.clearProgress();
    const ms = this.now() - this.started;
    return `${formatBytes(this.bytes)} in ${(ms / 1000).toFixed(1)} s (${formatRate(this.bytes, ms)})`;
  }
}

/** The progress line of a transfer of `bytes` (of `total`, if known) after `elapsedMs`. */
export function describeTransfer(
  label: string,
  bytes: number,
  total: TransferSize | undefined,
  elapsedMs: number,
): string {
  const rate = formatRate(bytes, elapsedMs);
  // An estimate that was passed says nothing any more: bytes and rate only.
  if (total === undefined || total.bytes <= 0 || (total.estimated && bytes > total.bytes)) {
    return `${label}: ${formatBytes(bytes)}, ${rate}`;
  }
  const about = total.estimated ? '~' : '';
  const percent = Math.min(100, Math.floor((bytes / total.bytes) * 100));
  const bytesPerMs = bytes / Math.max(elapsedMs, 1);
  const eta = bytesPerMs > 0 ? formatDuration(Math.max(0, total.bytes - bytes) / bytesPerMs) : '?';
  return `${label}: ${formatBytes(bytes)} of ${about}${formatBytes(total.bytes)} (${about}${percent}%), ${rate}, ETA ${about}${eta}`;
}

function formatRate(bytes: number, elapsedMs: number): string {
  return `${formatBytes(Math.round(bytes / Math.max(elapsedMs / 1000, 0.001)))}/s`;
}

/** `0:06`, `12:30`, `1:02:03`. */
export function formatDuration(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
