import { failure } from '../../failures';
import { effectiveTaskOptions, retryDelayMs } from '../../retries';
import type { Queryable } from '../queryable';
import type { TableNames } from '../tableNames';
import { serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';
import { requeueForRetry } from './retry';

/**
 * Settle a gone scheduler's tasks: its unstarted `running` tasks → `pending` (no code of theirs
 * ran; the attempt the claim counted is taken back), its started ones → `lost` (they may have run
 * in part: never re-run automatically) unless idempotent with attempts left, which go back to
 * `pending` for their next attempt (retry.ts), and the `pending` tasks pinned to it for debugging
 * → `aborted` (nobody is left to run them).
 *
 * Input: the transaction of a sweep, of settling orphans or of a deregistration, and the
 * scheduler. Guarantee: the caller holds the dead scheduler's row `FOR UPDATE` (or it is deleted
 * already: an orphan), so two sweepers never settle one scheduler; each statement is fenced by
 * `scheduler_id = ?` and the state it moves from.
 */
export async function settleSchedulerTasks(
  tx: Queryable,
  t: TableNames,
  schedulerId: string,
  why: string,
): Promise<{ requeued: number; lost: number; retried: number }> {
  const taskTable = t.task;
  const requeued = await tx.write(
    `UPDATE \`${taskTable}\` SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1, claimed_at = NULL
      WHERE scheduler_id = ? AND state = 'running' AND started_at IS NULL`,
    [schedulerId],
  );
  const retried = await retryLostRuns(tx, t, schedulerId, why);
  const lost = await tx.write(
    `UPDATE \`${taskTable}\` SET ${endedColumns("'lost'")}, error = ?
      WHERE scheduler_id = ? AND state = 'running' AND started_at IS NOT NULL`,
    [serialiseError(failure('TaskLost', why)), schedulerId],
  );
  await tx.write(
    `UPDATE \`${taskTable}\` SET ${endedColumns("'aborted'")}, abort_reason = ?, error = ?
      WHERE debug_scheduler_id = ? AND state = 'pending'`,
    [
      'debug session ended',
      serialiseError(failure('TaskAborted', `scheduler ${schedulerId}, which was to debug it, is gone`)),
      schedulerId,
    ],
  );
  return { requeued: requeued.affectedRows, lost: lost.affectedRows, retried };
}

/** The started runs that may run again although they may have run in part: idempotent, with attempts left. */
async function retryLostRuns(tx: Queryable, t: TableNames, schedulerId: string, why: string): Promise<number> {
  const runs = await tx.select<{ id: string; task: string; attempt: number; delay: number | null; max: number | null }>(
    `SELECT id, task, attempt, retry_delay_ms AS delay, retry_max_delay_ms AS max FROM \`${t.task}\`
      WHERE scheduler_id = ? AND state = 'running' AND started_at IS NOT NULL AND idempotent
        AND attempt <= retries AND abort_requested_at IS NULL
      FOR UPDATE`,
    [schedulerId],
  );
  let retried = 0;
  for (const run of runs) {
    const attempt = Number(run.attempt);
    const options = effectiveTaskOptions(
      { retryDelayMs: run.delay ?? undefined, retryMaxDelayMs: run.max ?? undefined },
      {},
      run.task,
    );
    const requeued = await requeueForRetry(tx, t, schedulerId, {
      taskId: String(run.id),
      attempt,
      state: 'lost',
      error: failure('TaskLost', why, true),
      logs: '',
      delayMs: retryDelayMs(options, attempt),
    });
    if (requeued) retried++;
  }
  return retried;
}
