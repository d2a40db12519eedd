import type { TaskId } from '../../task';
import type { Database } from '../connection';
import { type EndingRun, endAndStart, type Outcome, type StartingRun, type StartMark } from './endAndStart';
import { type RetriedRun, requeueForRetry, retryWritten } from './retry';

/**
 * Finish: `running` → `succeeded` | `failed` | `aborted`, the outcome its scheduler delivers (from
 * the outcome journal, so it survives the scheduler's crash and database outages); a failed run
 * with `retry` goes back to `pending` for its next attempt instead (retry.ts).
 *
 * Input: the scheduler, its outcomes, and the tasks whose started marks go with them (none unless
 * the scheduler has some to write: endAndStart.ts). Output: the ids whose outcome the database now
 * holds, and whether it ended the task or put it back; the marks.
 * Guarantee: the outcomes that end their tasks, and the marks, are one statement and one commit
 * (endAndStart.ts, which has their fences); each retry is a transaction of its own.
 */

export type { Outcome } from './endAndStart';

/** What a written outcome did: ended its task, or put it back for its next attempt. */
export type Written = 'ended' | 'retried';

/** Outcomes of one scheduler that ended together; those with `retry` go back to pending, one transaction each. */
export async function finishTasks(
  db: Database,
  schedulerId: string,
  outcomes: EndingRun[],
): Promise<Map<TaskId, Written>> {
  return (await finishAndStart(db, schedulerId, outcomes, [])).written;
}

export async function finishAndStart(
  db: Database,
  schedulerId: string,
  outcomes: readonly EndingRun[],
  starting: readonly StartingRun[],
): Promise<{ written: Map<TaskId, Written>; marks: Map<TaskId, StartMark> }> {
  const written = new Map<TaskId, Written>();
  const ending: EndingRun[] = [];
  for (const entry of outcomes) {
    const retried = entry.outcome.retry && (await retry(db, schedulerId, entry.taskId, entry.outcome));
    if (retried) written.set(entry.taskId, 'retried');
    else ending.push(entry.outcome.retry ? { ...entry, outcome: { ...entry.outcome, retry: undefined } } : entry);
  }
  const { ended, marks } = await endAndStart(db, schedulerId, ending, starting);
  for (const id of ended) written.set(id, 'ended');
  return { written, marks };
}

/**
 * Puts a failed run back for its next attempt. False when it cannot be (no longer ours, or its
 * abort was asked meanwhile: then it ends failed, as a run without attempts left).
 */
async function retry(db: Database, schedulerId: string, taskId: TaskId, outcome: Outcome): Promise<boolean> {
  const run: RetriedRun = {
    taskId,
    attempt: outcome.retry!.attempt,
    state: 'failed',
    error: outcome.error ?? { name: 'Error', message: 'The task failed.' },
    logs: outcome.logs,
    delayMs: outcome.retry!.delayMs,
  };
  if (await db.transaction((tx) => requeueForRetry(tx, db.tables, schedulerId, run))) return true;
  return retryWritten(db, schedulerId, run);
}
