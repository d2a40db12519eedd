import { InvalidInputError, TaskNotEndedError, TaskNotFoundError } from '../../errors';
import { ENDED_STATES, isEnded, isTaskState, type TaskId, type TaskState } from '../../task';
import type { Database } from '../connection';
import type { Value } from '../queryable';
import { getTask, validTaskId } from '../taskQueries';
import { placeholders } from '../taskRows';

/**
 * Delete: an ended task's row goes, with its earlier attempts and dependencies (delete one, or purge by age and state). A task that has not
 * ended is never deleted: its scheduler may still write its outcome.
 *
 * Guarantee: `state NOT IN ('waiting', 'pending', 'running')` in the statement itself, so a task claimed
 * between a user's look and the delete stays; a purge takes its batches `FOR UPDATE SKIP LOCKED`.
 */

export async function deleteTask(db: Database, id: TaskId): Promise<void> {
  const taskId = validTaskId(id);
  const deleted = await db.transaction(async (tx) => {
    const result = await tx.write(
      `DELETE FROM \`${db.tables.task}\` WHERE id = ? AND state NOT IN ('waiting', 'pending', 'running')`,
      [taskId],
    );
    if (result.affectedRows === 1) {
      await tx.write(`DELETE FROM \`${db.tables.attempt}\` WHERE task_id = ?`, [taskId]);
      await tx.write(`DELETE FROM \`${db.tables.dependency}\` WHERE task_id = ?`, [taskId]);
    }
    return result.affectedRows === 1;
  });
  if (deleted) return;
  const task = await getTask(db, taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  throw new TaskNotEndedError(taskId, task.state, 'deleted');
}

export interface PurgeSelection {
  /** Ended tasks whose end is older than this many milliseconds, or that ended before this time. */
  age: { olderThanMs: number } | { endedBefore: Date };
  /** Only these ended states (default: all of them). */
  states?: TaskState[];
}

function purgeClause(selection: PurgeSelection): { sql: string; values: Value[] } {
  const { age, states } = selection;
  if ('olderThanMs' in age && (!Number.isFinite(age.olderThanMs) || age.olderThanMs < 0))
    throw new InvalidInputError('The age to purge must be a non-negative duration.');
  if ('endedBefore' in age && Number.isNaN(age.endedBefore.getTime()))
    throw new InvalidInputError('The time to purge before is not a valid date.');
  for (const state of states ?? []) {
    if (!isTaskState(state) || !isEnded(state))
      throw new InvalidInputError(
        `Only ended tasks can be purged: "${state}" is not an ended state (${ENDED_STATES.join(', ')}).`,
      );
  }
  const byState = states?.length ? ` AND state IN (${placeholders(states.length)})` : '';
  const before = 'olderThanMs' in age ? 'NOW(6) - INTERVAL ? MICROSECOND' : '?';
  return {
    sql: `ended_at IS NOT NULL AND ended_at < ${before}${byState}`,
    values: ['olderThanMs' in age ? age.olderThanMs * 1000 : age.endedBefore, ...(states ?? [])],
  };
}

/**
 * How many tasks a purge of this selection would delete now, and the cut-off that "now" means
 * (the database's clock): purging with `{ endedBefore }` then deletes what was counted, not also
 * what ended while the user read the count.
 */
export async function countPurgeable(
  db: Database,
  selection: PurgeSelection & { age: { olderThanMs: number } },
): Promise<{ count: number; endedBefore: Date }> {
  const { sql, values } = purgeClause(selection);
  const rows = await db.select<{ n: number; cutoff: Date }>(
    `SELECT COUNT(*) AS n, NOW(6) - INTERVAL ? MICROSECOND AS cutoff FROM \`${db.tables.task}\` WHERE ${sql}`,
    [selection.age.olderThanMs * 1000, ...values],
  );
  return { count: Number(rows[0].n), endedBefore: rows[0].cutoff };
}

/**
 * Deletes the ended tasks of the selection in batches, so that no statement holds many locks or
 * fills the undo log; other sessions keep claiming in between. Rows another session holds are
 * skipped, never waited for: the next purge deletes them.
 */
export async function purgeEndedTasks(db: Database, selection: PurgeSelection, batchSize = 1000): Promise<number> {
  const { sql, values } = purgeClause(selection);
  const t = db.tables;
  let total = 0;
  for (;;) {
    const deleted = await db.transaction(async (tx) => {
      const rows = await tx.select<{ id: string }>(
        `SELECT id FROM \`${t.task}\` WHERE ${sql} ORDER BY ended_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [...values, String(batchSize)],
      );
      if (rows.length === 0) return 0;
      const ids = rows.map((row) => String(row.id));
      // By primary key, never a scan: a DELETE that scans waits for every row another session
      // locks (READ COMMITTED spares only UPDATE that), and on a small table the optimizer scans.
      const result = await tx.write(
        `DELETE t FROM \`${t.task}\` AS t FORCE INDEX (PRIMARY) WHERE t.id IN (${placeholders(ids.length)})`,
        ids,
      );
      await tx.write(
        `DELETE a FROM \`${t.attempt}\` AS a FORCE INDEX (PRIMARY) WHERE a.task_id IN (${placeholders(ids.length)})`,
        ids,
      );
      // A purged task's own dependencies; rows naming it stay for its waiting dependents (none,
      // unless it ended unnoticed), which then read it as deleted.
      await tx.write(`DELETE d FROM \`${t.dependency}\` AS d WHERE d.task_id IN (${placeholders(ids.length)})`, ids);
      return result.affectedRows;
    });
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
