import type { TaskError, TaskId } from '../../task';
import type { Database } from '../connection';
import type { Queryable } from '../queryable';
import type { TableNames } from '../tableNames';
import { serialiseError } from '../taskRows';

/**
 * Retry: `running` → `pending` again, with the attempt's outcome kept in `taskman_attempt`: a run
 * that failed with attempts left (its scheduler's outcome, finish.ts routes it here), or one lost
 * while idempotent with attempts left (settle.ts). `attempt` stays: the next claim counts the next.
 *
 * Input: the run (task, attempt, scheduler), its outcome and the wait before the next attempt.
 * Output: whether the task was put back. Guarantee: the attempt's row and the task's return to
 * `pending` commit together, fenced by `scheduler_id`, `state = 'running'`, the attempt and no
 * abort asked (a task whose abort was asked ends instead); the attempt's primary key (task,
 * attempt) means nothing is recorded twice, and a retry written again after a lost reply finds its
 * row and counts as written.
 */
export interface RetriedRun {
  taskId: TaskId;
  attempt: number;
  state: 'failed' | 'lost';
  error: TaskError;
  logs: string;
  delayMs: number;
}

/** In the caller's transaction. */
export async function requeueForRetry(
  tx: Queryable,
  t: TableNames,
  schedulerId: string,
  run: RetriedRun,
): Promise<boolean> {
  const fence = `id = ? AND scheduler_id = ? AND state = 'running' AND attempt = ? AND abort_requested_at IS NULL`;
  const fenceValues = [run.taskId, schedulerId, run.attempt];
  const held = await tx.select(`SELECT id FROM \`${t.task}\` WHERE ${fence} FOR UPDATE`, fenceValues);
  if (held.length === 0) return false;
  const error = serialiseError(run.error);
  await tx.write(
    `INSERT INTO \`${t.attempt}\` (task_id, attempt, state, error, logs, scheduler_id, ran_version, claimed_at,
       started_at, ended_at, retry_at)
     SELECT id, attempt, ?, ?, ?, scheduler_id, ran_version, claimed_at, started_at, NOW(6),
            NOW(6) + INTERVAL ? MICROSECOND
       FROM \`${t.task}\` WHERE ${fence}`,
    [run.state, error, run.logs, run.delayMs * 1000, ...fenceValues],
  );
  // The row says why it waits (the last error); the run's output is its attempt's.
  await tx.write(
    `UPDATE \`${t.task}\`
        SET state = 'pending', scheduler_id = NULL, claimed_at = NULL, started_at = NULL, ran_version = NULL,
            run_after = NOW(6) + INTERVAL ? MICROSECOND, error = ?, logs = NULL, progress_percent = NULL,
            progress_message = NULL
      WHERE ${fence}`,
    [run.delayMs * 1000, error, ...fenceValues],
  );
  return true;
}

/** A retry of this run was written already (its reply lost): the attempt's row is there, as recorded by us. */
export async function retryWritten(db: Database, schedulerId: string, run: RetriedRun): Promise<boolean> {
  const rows = await db.select(
    `SELECT 1 AS found FROM \`${db.tables.attempt}\` WHERE task_id = ? AND attempt = ? AND scheduler_id = ? AND state = ?`,
    [run.taskId, run.attempt, schedulerId, run.state],
  );
  return rows.length > 0;
}
