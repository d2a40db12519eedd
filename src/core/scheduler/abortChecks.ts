import type { Database } from '../database/connection';
import { findAbortRequests } from '../database/runningTasks';
import { repeatEvery } from '../timing';

/**
 * Reads the abort requests for the tasks a scheduler runs or holds, every `intervalMs` until
 * `signal` aborts, and hands each to `abort`. On a timer of its own rather than on every wake-up:
 * a busy scheduler is woken once per finished task.
 */
export function runAbortChecks(
  signal: AbortSignal,
  options: {
    db: Database;
    intervalMs: number;
    /** The scheduler's id while it has tasks running or held; undefined skips the check. */
    checker: () => string | undefined;
    abort: (taskId: string, reason: string) => void;
    onError: (error: unknown) => Promise<void>;
  },
): Promise<void> {
  return repeatEvery(
    signal,
    () => options.intervalMs,
    async () => {
      const schedulerId = options.checker();
      if (!schedulerId) return;
      for (const request of await findAbortRequests(options.db, schedulerId))
        options.abort(request.id, request.reason ?? 'aborted by a user');
    },
    { onError: options.onError, backOff: true, waitFirst: true },
  );
}
