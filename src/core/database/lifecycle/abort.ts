import { TaskNotFoundError } from '../../errors';
import { failure } from '../../failures';
import type { TaskId, TaskState } from '../../task';
import { type Database, SESSION_SETTINGS } from '../connection';
import { isConflict } from '../databaseErrors';
import { validTaskId } from '../taskQueries';
import { serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Abort, asked by a user on any client: a `pending` or `waiting` task → `aborted` at once (its
 * dependents are settled by the caller, Taskman.abort); a `running` one is
 * flagged (`abort_requested_at`) and its scheduler stops it within one poll, then delivers the
 * outcome; an ended one is left as it is.
 *
 * Guarantee: the row is read `FOR UPDATE` and changed by the state read, in one transaction, so an
 * abort and a claim of the same task never both act on it as pending.
 */

export type AbortResult =
  /** It was pending or waiting: it is aborted now and will never start. */
  | { outcome: 'aborted' }
  /** It is running: its scheduler stops it within one poll. */
  | { outcome: 'abort-requested' }
  /** It had already ended; nothing changed. */
  | { outcome: 'already-ended'; state: TaskState };

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
    if (state === 'pending' || state === 'waiting') {
      await tx.write(
        `UPDATE \`${t.task}\` SET ${endedColumns("'aborted'")}, abort_requested_at = NOW(6), abort_reason = ?, error = ?
          WHERE id = ?`,
        [why, serialiseError(failure('TaskAborted', why)), taskId],
      );
      return { outcome: 'aborted' };
    }
    if (state === 'running') {
      await tx.write(
        `UPDATE \`${t.task}\`
            SET abort_requested_at = COALESCE(abort_requested_at, NOW(6)), abort_reason = COALESCE(abort_reason, ?)
          WHERE id = ?`,
        [why, taskId],
      );
      return { outcome: 'abort-requested' };
    }
    return { outcome: 'already-ended', state };
  });
}
