import { failure } from '../../failures';
import type { TaskId } from '../../task';
import type { Database } from '../connection';
import { placeholders, serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Release: a claim undone, `running` → `pending` with the attempt the claim counted taken back.
 *
 * Guarantee: fenced by `scheduler_id = ? AND state = 'running'` like every write about a running
 * task, so a release that comes after a sweep, or twice, changes nothing. Returns how many rows
 * were released.
 */

/**
 * Tasks claimed ahead of a slot that never started (ClaimedAhead: hold limit, deadline passed,
 * config change, stop). Only while `started_at` is unset: a started task is never requeued.
 */
export async function releaseClaimedTasks(db: Database, ids: TaskId[], schedulerId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.write(
    `UPDATE \`${db.tables.task}\`
        SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1, claimed_at = NULL
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running' AND started_at IS NULL`,
    [...ids, schedulerId],
  );
  return result.affectedRows;
}

/**
 * Tasks a claim made ours that this scheduler never handed to a runner (Reconciliation, after a
 * claim or release whose reply was lost): back to `pending` even when the claim marked them
 * started, because this scheduler knows no code of theirs ran. One whose abort was asked meanwhile
 * ends `aborted`, as a pending one would.
 */
export async function releaseStrayTasks(db: Database, ids: TaskId[], schedulerId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const t = db.tables;
  const fenced = `id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running'`;
  const aborted = await db.write(
    `UPDATE \`${t.task}\` SET ${endedColumns("'aborted'")}, error = ?
      WHERE ${fenced} AND abort_requested_at IS NOT NULL`,
    [
      serialiseError(failure('TaskAborted', 'its abort was asked while a scheduler was claiming it')),
      ...ids,
      schedulerId,
    ],
  );
  const requeued = await db.write(
    `UPDATE \`${t.task}\`
        SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1, claimed_at = NULL, started_at = NULL,
            ran_version = NULL
      WHERE ${fenced}`,
    [...ids, schedulerId],
  );
  return aborted.affectedRows + requeued.affectedRows;
}
