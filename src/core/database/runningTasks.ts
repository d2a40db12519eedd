import type { TaskId, TaskProgress } from '../task';
import type { Database } from './connection';

/**
 * What the scheduler that owns a running task reads and writes about it besides its state (the
 * state changes are in lifecycle/). Writes are fenced with `scheduler_id = ? AND state =
 * 'running'`: once a sweeper declared the scheduler dead, its late writes change nothing.
 */

/** A running task's progress and, when given, the tail of its output so far; fenced by its scheduler. */
export async function recordProgress(
  db: Database,
  id: TaskId,
  schedulerId: string,
  progress: TaskProgress,
  logs?: string,
): Promise<boolean> {
  const result = await db.write(
    `UPDATE \`${db.tables.task}\` SET progress_percent = ?, progress_message = ?${logs === undefined ? '' : ', logs = ?'}
      WHERE id = ? AND scheduler_id = ? AND state = 'running'`,
    [
      progress.percent,
      progress.message?.slice(0, 1024) ?? null,
      ...(logs === undefined ? [] : [logs]),
      id,
      schedulerId,
    ],
  );
  return result.affectedRows === 1;
}

/** Running tasks of this scheduler that someone asked to abort. */
export async function findAbortRequests(
  db: Database,
  schedulerId: string,
): Promise<{ id: TaskId; reason: string | null }[]> {
  const rows = await db.select<{ id: string; abort_reason: string | null }>(
    `SELECT id, abort_reason FROM \`${db.tables.task}\`
      WHERE scheduler_id = ? AND state = 'running' AND abort_requested_at IS NOT NULL`,
    [schedulerId],
  );
  return rows.map((row) => ({ id: String(row.id), reason: row.abort_reason }));
}

/** The ids of the tasks the database says this scheduler id runs (reconciliation: by_scheduler index). */
export async function findOwnedRunningTasks(db: Database, schedulerId: string): Promise<TaskId[]> {
  const rows = await db.select<{ id: string }>(
    `SELECT id FROM \`${db.tables.task}\` WHERE scheduler_id = ? AND state = 'running'`,
    [schedulerId],
  );
  return rows.map((row) => String(row.id));
}
