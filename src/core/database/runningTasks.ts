import type { TaskError, TaskId } from '../task';
import type { Database } from './connection';
import { placeholders, serialiseError } from './taskRows';

/**
 * Writes by the scheduler that owns a running task. Every one is fenced with
 * `WHERE id = ? AND scheduler_id = ? AND state = 'running'`: once a sweeper has declared the
 * scheduler dead (and requeued or lost the task), its late writes match no row and change nothing.
 */

/**
 * `overdue`: its start-before deadline passed while it waited for a slot after being claimed (see
 * ClaimedAhead); it is not started.
 */
export type StartMark = 'started' | 'abort-requested' | 'overdue' | 'not-owned';

/**
 * Commits `started_at` before the runner is spawned: importing the tasks module already runs user
 * code, so from here on a dead scheduler's task is `lost`, never silently requeued.
 */
export async function markStarted(
  db: Database,
  id: TaskId,
  schedulerId: string,
  ranVersion: string,
): Promise<StartMark> {
  return (await markStartedBatch(db, [id], schedulerId, ranVersion)).get(id)!;
}

/**
 * `markStarted` for tasks a scheduler starts together (StartMarks): one statement and
 * one commit for the batch instead of one per task. A second read, only when some row did not
 * change, tells an abort request from a task that is no longer ours.
 */
export async function markStartedBatch(
  db: Database,
  ids: TaskId[],
  schedulerId: string,
  ranVersion: string,
): Promise<Map<TaskId, StartMark>> {
  const t = db.tables;
  const marks = new Map<TaskId, StartMark>();
  if (ids.length === 0) return marks;
  const result = await db.write(
    `UPDATE \`${t.task}\` SET started_at = NOW(6), ran_version = ?, updated_at = NOW(6)
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running' AND started_at IS NULL AND abort_requested_at IS NULL
        AND (start_before IS NULL OR start_before > NOW(6))`,
    [ranVersion, ...ids, schedulerId],
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
  for (const id of ids) {
    const row = found.get(id);
    // started_at already set: an earlier attempt of this same mark committed (its reply was lost).
    marks.set(
      id,
      !row
        ? 'not-owned'
        : row.started_at
          ? 'started'
          : row.abort_requested_at
            ? 'abort-requested'
            : Number(row.overdue)
              ? 'overdue'
              : 'not-owned',
    );
  }
  return marks;
}

/** A running task's progress and, when given, the tail of its output so far; fenced by its scheduler. */
export async function recordProgress(
  db: Database,
  id: TaskId,
  schedulerId: string,
  progress: { percent: number | null; message: string | null },
  logs?: string,
): Promise<boolean> {
  const result = await db.write(
    `UPDATE \`${db.tables.task}\` SET progress_percent = ?, progress_message = ?,${logs === undefined ? '' : ' logs = ?,'} updated_at = NOW(6)
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

/** How a run ended, as the scheduler delivers it; kept in the journal until the database has it. */
export interface Outcome {
  state: 'succeeded' | 'failed' | 'aborted';
  /** JSON text of the result (succeeded). */
  resultJson?: string;
  error?: TaskError;
  logs: string;
  progress: { percent: number | null; message: string | null };
  abortReason?: string;
}

/** Records the final state. False when the task is no longer ours (swept as lost): nothing changes. */
export async function finishTask(db: Database, id: TaskId, schedulerId: string, outcome: Outcome): Promise<boolean> {
  const result = await db.write(
    `UPDATE \`${db.tables.task}\`
        SET state = ?, result = ?, error = ?, logs = ?, progress_percent = ?, progress_message = ?,
            abort_reason = COALESCE(abort_reason, ?), active_key = NULL, ended_at = NOW(6), updated_at = NOW(6)
      WHERE id = ? AND scheduler_id = ? AND state = 'running'`,
    [...outcomeValues(outcome), id, schedulerId],
  );
  return result.affectedRows === 1;
}

/** The columns an outcome sets, in the order of finishTask's SET. */
function outcomeValues(outcome: Outcome): (string | number | null)[] {
  return [
    outcome.state,
    outcome.resultJson ?? null,
    outcome.error ? serialiseError(outcome.error) : null,
    outcome.logs,
    outcome.progress.percent,
    outcome.progress.message?.slice(0, 1024) ?? null,
    outcome.abortReason?.slice(0, 1024) ?? null,
  ];
}

/**
 * `finishTask` for outcomes of one scheduler that ended together: one statement and one commit
 * for all of them, each column set by `CASE id` (or once, when the batch shares its value). Returns the ids written; the others were no
 * longer ours. Only when some row did not change does a second read tell which.
 */
export async function finishTasks(
  db: Database,
  schedulerId: string,
  outcomes: { taskId: TaskId; outcome: Outcome }[],
): Promise<Set<TaskId>> {
  if (outcomes.length === 1) {
    const [{ taskId, outcome }] = outcomes;
    if (await finishTask(db, taskId, schedulerId, outcome)) return new Set([taskId]);
    return writtenAlready(db, schedulerId, outcomes);
  }
  const ids = outcomes.map((o) => o.taskId);
  const rows = outcomes.map((o) => outcomeValues(o.outcome));
  const columns = ['state', 'result', 'error', 'logs', 'progress_percent', 'progress_message', 'abort_reason'];
  const whens = outcomes.map(() => 'WHEN ? THEN ?').join(' ');
  const sets: string[] = [];
  const values: (string | number | null)[] = [];
  columns.forEach((column, c) => {
    // A value the whole batch shares (state, an empty log, no error) is bound once, not per row.
    const shared = rows.every((row) => row[c] === rows[0][c]);
    const value = shared ? '?' : `CASE id ${whens} END`;
    sets.push(column === 'abort_reason' ? `abort_reason = COALESCE(abort_reason, ${value})` : `${column} = ${value}`);
    if (shared) values.push(rows[0][c]);
    else values.push(...outcomes.flatMap((o, i) => [o.taskId, rows[i][c]]));
  });
  const result = await db.write(
    `UPDATE \`${db.tables.task}\`
        SET ${sets.join(', ')}, active_key = NULL, ended_at = NOW(6), updated_at = NOW(6)
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running'`,
    [...values, ...ids, schedulerId],
  );
  if (result.affectedRows === ids.length) return new Set(ids);
  return writtenAlready(db, schedulerId, outcomes);
}

/** The outcomes whose rows are ours and in the state written: now, or by an attempt whose reply was lost. */
async function writtenAlready(
  db: Database,
  schedulerId: string,
  outcomes: { taskId: TaskId; outcome: Outcome }[],
): Promise<Set<TaskId>> {
  const ids = outcomes.map((o) => o.taskId);
  const after = await db.select<{ id: string; state: string }>(
    `SELECT id, state FROM \`${db.tables.task}\` WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ?`,
    [...ids, schedulerId],
  );
  const states = new Map(after.map((row) => [String(row.id), row.state]));
  return new Set(outcomes.filter((o) => states.get(o.taskId) === o.outcome.state).map((o) => o.taskId));
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
