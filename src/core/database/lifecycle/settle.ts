import { failure } from '../../failures';
import type { Queryable } from '../queryable';
import { serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Settle a gone scheduler's tasks: its unstarted `running` tasks → `pending` (no code of theirs
 * ran), its started ones → `lost` (they may have run in part: never re-run automatically), and the
 * `pending` tasks pinned to it for debugging → `aborted` (nobody is left to run them).
 *
 * Input: the transaction of a sweep, of settling orphans or of a deregistration, and the
 * scheduler. Guarantee: the caller holds the dead scheduler's row `FOR UPDATE` (or it is deleted
 * already: an orphan), so two sweepers never settle one scheduler; each statement is fenced by
 * `scheduler_id = ?` and the state it moves from.
 */
export async function settleSchedulerTasks(
  tx: Queryable,
  taskTable: string,
  schedulerId: string,
  why: string,
): Promise<{ requeued: number; lost: number }> {
  const requeued = await tx.write(
    `UPDATE \`${taskTable}\` SET state = 'pending', scheduler_id = NULL, claimed_at = NULL
      WHERE scheduler_id = ? AND state = 'running' AND started_at IS NULL`,
    [schedulerId],
  );
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
  return { requeued: requeued.affectedRows, lost: lost.affectedRows };
}
