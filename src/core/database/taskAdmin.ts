import { InvalidInputError, TaskNotEndedError, TaskNotFoundError } from '../errors';
import { ENDED_STATES, isEnded, isTaskState, type TaskId, type TaskState } from '../task';
import { type Database, SESSION_SETTINGS, type Value } from './connection';
import { isConflict } from './databaseErrors';
import { submitTask, type SubmitResult } from './submitTask';
import { placeholders, serialiseError } from './taskRows';
import { getTask, validTaskId } from './taskQueries';

export type AbortResult =
  /** It was pending: it is aborted now and will never start. */
  | { outcome: 'aborted' }
  /** It is running: its scheduler stops it within one poll. */
  | { outcome: 'abort-requested' }
  /** It had already ended; nothing changed. */
  | { outcome: 'already-ended'; state: TaskState };

/** Any client, any host: a pending task ends at once, a running one is flagged for its scheduler. */
export async function requestAbort(db: Database, id: TaskId, reason = 'aborted by a user'): Promise<AbortResult> {
  const taskId = validTaskId(id);
  const why = String(reason).slice(0, 1024);
  // The row may be locked by a claim of a scheduler the network cut off: each try waits at most
  // the session's lock wait, and the server ends that scheduler's session within wait_timeout.
  const tries = Math.ceil(SESSION_SETTINGS.idleTimeoutSeconds / SESSION_SETTINGS.lockWaitTimeoutSeconds) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await abortOnce(db, taskId, why);
    } catch (error) {
      if (!isConflict(error) || attempt >= tries) throw error;
    }
  }
}

async function abortOnce(db: Database, taskId: string, why: string): Promise<AbortResult> {
  const t = db.tables;
  return db.transaction(async (tx) => {
    const rows = await tx.select<{ state: TaskState }>(`SELECT state FROM \`${t.task}\` WHERE id = ? FOR UPDATE`, [
      taskId,
    ]);
    if (rows.length === 0) throw new TaskNotFoundError(taskId);
    const state = rows[0].state;
    if (state === 'pending') {
      await tx.write(
        `UPDATE \`${t.task}\` SET state = 'aborted', abort_requested_at = NOW(6), abort_reason = ?, error = ?,
           active_key = NULL, ended_at = NOW(6), updated_at = NOW(6) WHERE id = ?`,
        [why, serialiseError({ name: 'TaskAborted', message: `Aborted before it started: ${why}.` }), taskId],
      );
      return { outcome: 'aborted' };
    }
    if (state === 'running') {
      await tx.write(
        `UPDATE \`${t.task}\` SET abort_requested_at = COALESCE(abort_requested_at, NOW(6)), abort_reason = COALESCE(abort_reason, ?),
           updated_at = NOW(6) WHERE id = ?`,
        [why, taskId],
      );
      return { outcome: 'abort-requested' };
    }
    return { outcome: 'already-ended', state };
  });
}

/**
 * A rerun is a new task with the same application, name, payload and settings, pointing at the
 * old one; `payload` replaces the old payload when given.
 */
export async function rerunTask(db: Database, id: TaskId, options: { payload?: unknown } = {}): Promise<SubmitResult> {
  const task = await getTask(db, id);
  if (!task) throw new TaskNotFoundError(validTaskId(id));
  if (!isEnded(task.state)) throw new TaskNotEndedError(task.id, task.state, 'rerun');
  return submitTask(db, {
    application: task.application,
    task: task.task,
    payload: 'payload' in options ? options.payload : task.payload,
    key: task.key ?? undefined,
    priority: task.priority,
    timeout: task.timeoutMs ?? undefined,
    version: task.version ?? undefined,
    rerunOf: task.id,
  });
}

export async function deleteTask(db: Database, id: TaskId): Promise<void> {
  const taskId = validTaskId(id);
  const result = await db.write(
    `DELETE FROM \`${db.tables.task}\` WHERE id = ? AND state NOT IN ('pending', 'running')`,
    [taskId],
  );
  if (result.affectedRows === 1) return;
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
 * Deletes the ended tasks of the selection, in batches so that no statement holds many locks
 * or fills the undo log; other sessions keep claiming in between. Rows another session holds are
 * skipped (SKIP LOCKED), never waited for: they are deleted by the next purge.
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
      return (await tx.write(`DELETE FROM \`${t.task}\` WHERE id IN (${placeholders(ids.length)})`, ids)).affectedRows;
    });
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/**
 * Marks pending tasks whose `start_before` has passed as `expired`. The claim query already
 * refuses them, so this only makes their state honest; it is safe to run from any scheduler.
 *
 * A pending row can be locked by a claim in flight, possibly of a scheduler the network just cut
 * off (its transaction lives on until the server ends the session): a plain UPDATE would wait for
 * it. So the rows are taken FOR UPDATE SKIP LOCKED and a locked one is left for the next round;
 * a cheap unlocked look first keeps the usual case (nothing to expire) at one statement.
 */
export async function expireOverdueTasks(db: Database, batchSize = 500): Promise<number> {
  const t = db.tables;
  const overdue = `state = 'pending' AND start_before IS NOT NULL AND start_before <= NOW(6)`;
  const any = await db.select(`SELECT id FROM \`${t.task}\` WHERE ${overdue} LIMIT 1`);
  if (any.length === 0) return 0;
  const error = serialiseError({
    name: 'TaskExpired',
    message: 'Its start-before deadline passed before any scheduler started it.',
  });
  return db.transaction(async (tx) => {
    const rows = await tx.select<{ id: string }>(
      `SELECT id FROM \`${t.task}\` WHERE ${overdue} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [String(batchSize)],
    );
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => String(row.id));
    const result = await tx.write(
      `UPDATE \`${t.task}\` SET state = 'expired', error = ?, active_key = NULL, ended_at = NOW(6), updated_at = NOW(6)
        WHERE id IN (${placeholders(ids.length)}) AND ${overdue}`,
      [error, ...ids],
    );
    return result.affectedRows;
  });
}
