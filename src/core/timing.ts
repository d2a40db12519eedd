/** Resolves after `ms`, or at once when `signal` aborts; the timer never outlives the wait. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** 100 ms doubling to 5 s, with ±25 % jitter so that many clients do not retry in step. */
export function backoffDelay(attempt: number, baseMs = 100, maxMs = 5_000): number {
  const exact = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exact * (0.75 + Math.random() * 0.5));
}

/** True if `promise` settles within `ms`; the timer never outlives the answer. */
export async function withinTime(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), sleep(ms, timeout.signal).then(() => false)]);
  } finally {
    timeout.abort();
  }
}

/**
 * Runs `job` again `intervalMs()` after each run ended, until `signal` aborts: a job on a timer
 * of its own (heartbeat, maintenance, abort checks) never overlaps itself and never waits for
 * another. A run that failed is handed to `onError`. With `backOff`, the next run after a failure
 * waits longer after each failure in a row (up to 5 s, never less than the interval), so a short
 * timer does not hammer a database that is away; without it (the heartbeat, whose pace the
 * heartbeat timeout counts on), the interval stays. With `waitFirst`, the first run comes after
 * one interval. With `hurry`, the wait after a run ends early when the signal it returned before that run
 * aborts.
 */
export async function repeatEvery(
  signal: AbortSignal,
  intervalMs: () => number,
  job: () => Promise<void>,
  options: {
    onError: (error: unknown) => Promise<void>;
    backOff?: boolean;
    waitFirst?: boolean;
    hurry?: () => AbortSignal;
  },
): Promise<void> {
  let failures = 0;
  if (options.waitFirst) await sleep(intervalMs(), signal);
  while (!signal.aborted) {
    // Taken before the run, so that a hurry during the run is not missed.
    const hurry = options.hurry?.();
    try {
      await job();
      failures = 0;
    } catch (error) {
      failures++;
      await options.onError(error);
    }
    const interval = intervalMs();
    const backOff = options.backOff && failures > 0;
    const waitMs = backOff ? Math.max(interval, Math.min(5_000, backoffDelay(failures))) : interval;
    await sleep(waitMs, hurry ? AbortSignal.any([signal, hurry]) : signal);
  }
}
