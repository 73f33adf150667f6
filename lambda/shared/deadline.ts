/**
 * An AbortSignal that fires `marginMs` before a Lambda's deadline:
 * `deadlineSignal(context.getRemainingTimeInMillis(), 20_000)`. The margin must cover the abort
 * (for a backup: abortGraceMs + one AbortMultipartUpload request).
 */
export function deadlineSignal(remainingMs: number, marginMs: number): AbortSignal {
  const controller = new AbortController();
  const budget = Math.max(0, remainingMs - marginMs);
  const timer = setTimeout(() => {
    controller.abort(
      new Error(`time is running out: ${marginMs} ms before the Lambda timeout (after ${budget} ms)`),
    );
  }, budget);
  timer.unref();
  return controller.signal;
}
