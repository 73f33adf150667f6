import { terminal } from '../cli-kit';
import { formatDuration } from '../progress';

/**
 * Progress in keys on a terminal (`copy-data: db0: 12000 of 50000 keys (24%), 9800 keys/s, ETA
 * 0:04`), redrawn at most every 200 ms; nothing when stderr is not a terminal.
 */
export class KeyProgress {
  private keys = 0;
  private lastDraw = 0;
  private readonly started: number;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  add(keys: number): void {
    this.keys += keys;
    const at = this.now();
    if (at - this.lastDraw < 200) return;
    this.lastDraw = at;
    terminal.progress(describeKeyProgress(this.label, this.keys, this.total, at - this.started));
  }

  /** Clears the line; returns `532 keys in 1.2 s`. */
  finish(): string {
    terminal.clearProgress();
    return `${this.keys} keys in ${((this.now() - this.started) / 1000).toFixed(1)} s`;
  }
}

export function describeKeyProgress(
  label: string,
  keys: number,
  total: number | undefined,
  elapsedMs: number,
): string {
  const rate = keys / Math.max(elapsedMs / 1000, 0.001);
  const perSecond = `${Math.round(rate)} keys/s`;
  if (total === undefined || total <= 0) return `${label}: ${keys} keys, ${perSecond}`;
  const percent = Math.min(100, Math.floor((keys / total) * 100));
  const eta = rate > 0 ? formatDuration((Math.max(0, total - keys) / rate) * 1000) : '?';
  return `${label}: ${keys} of ${total} keys (${percent}%), ${perSecond}, ETA ${eta}`;
}
