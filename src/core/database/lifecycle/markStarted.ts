import type { EffectiveTaskOptions } from '../../retries';
import type { TaskId } from '../../task';
import type { Database } from '../connection';
import { placeholders } from '../taskRows';
import { stampAssignments } from './startStamp';

/**
 * Started mark: `running` stays `running`, `started_at` is committed before the runner is given
 * the task. Importing the tasks module already runs user code, so from here on a dead scheduler's
 * task is `lost`, never silently requeued.
 *
 * Input: the tasks and the scheduler that claimed them. Output: each task's mark.
 * Guarantee: fenced by `scheduler_id = ? AND state = 'running' AND started_at IS NULL`, and never
 * for a task whose abort was asked or whose start-before deadline passed. A mark whose reply was
 * lost and is written again finds the task started already and says `started`.
 */

/**
 * `overdue`: its start-before deadline passed while it waited for a slot after being claimed (see
 * ClaimedAhead); it is not started.
 */
export type StartMark = 'started' | 'abort-requested' | 'overdue' | 'not-owned';

export async function markStarted(
  db: Database,
  id: TaskId,
  schedulerId: string,
  ranVersion: string,
  stamp?: EffectiveTaskOptions,
): Promise<StartMark> {
  return (await markStartedBatch(db, [id], schedulerId, ranVersion, new Map(stamp ? [[id, stamp]] : []))).get(id)!;
}

/**
 * The marks of tasks a scheduler starts together (StartMarks): one statement and one commit for
 * the batch. A second read, only when some row did not change, tells an abort request from a task
 * that is no longer ours.
 */
export async function markStartedBatch(
  db: Database,
  ids: TaskId[],
  schedulerId: string,
  ranVersion: string,
  /** What each mark stamps (startStamp.ts), by task. */
  stamps: ReadonlyMap<TaskId, EffectiveTaskOptions> = new Map(),
): Promise<Map<TaskId, StartMark>> {
  const t = db.tables;
  const marks = new Map<TaskId, StartMark>();
  if (ids.length === 0) return marks;
  const stamp = stampAssignments(stamps);
  const result = await db.write(
    `UPDATE \`${t.task}\` SET started_at = NOW(6), ran_version = ?${stamp.sql}
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running' AND started_at IS NULL
        AND abort_requested_at IS NULL AND (start_before IS NULL OR start_before > NOW(6))`,
    [ranVersion, ...stamp.values, ...ids, schedulerId],
  );
  if (result.affectedRows === ids.length) {
    for (const id of ids) marks.set(id, 'started');
    return marks;
  }
  const rows = await db.select<{
    id: string;
    abort_requested_at: Date | null;
    started_at: Date | null;
    overdue: number;
  }>(
    `SELECT id, abort_requested_at, started_at, (start_before IS NOT NULL AND start_before <= NOW(6)) AS overdue
       FROM \`${t.task}\` WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running'`,
    [...ids, schedulerId],
  );
  const found = new Map(rows.map((row) => [String(row.id), row]));
  for (const id of ids) marks.set(id, markOf(found.get(id)));
  return marks;
}

function markOf(
  row: { abort_requested_at: Date | null; started_at: Date | null; overdue: number } | undefined,
): StartMark {
  if (!row) return 'not-owned';
  // started_at already set: an earlier attempt of this same mark committed (its reply was lost).
  if (row.started_at) return 'started';
  if (row.abort_requested_at) return 'abort-requested';
  return Number(row.overdue) ? 'overdue' : 'not-owned';
}
