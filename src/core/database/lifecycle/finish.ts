import type { TaskError, TaskId, TaskProgress } from '../../task';
import type { Database } from '../connection';
import type { Value } from '../queryable';
import { placeholders, serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';
import { type RetriedRun, requeueForRetry, retryWritten } from './retry';

/**
 * Finish: `running` → `succeeded` | `failed` | `aborted`, the outcome its scheduler delivers (from
 * the outcome journal, so it survives the scheduler's crash and database outages).
 *
 * Input: the scheduler and its outcomes. Output: the ids whose outcome the database now holds, and
 * whether it ended the task or put it back for its next attempt (a failed run with `retry`:
 * retry.ts).
 * Guarantee: fenced by `scheduler_id = ? AND state = 'running'`: once a sweeper declared the
 * scheduler dead (the task is `lost`), its late outcome changes nothing. An outcome written again
 * after a lost reply is found written already and counts as written.
 */

/** How a run ended, as the scheduler delivers it; kept in the journal until the database has it. */
export interface Outcome {
  state: 'succeeded' | 'failed' | 'aborted';
  /** JSON text of the result (succeeded). */
  resultJson?: string;
  error?: TaskError;
  logs: string;
  progress: TaskProgress;
  abortReason?: string;
  /** A failed run with attempts left: back to `pending` for attempt `attempt + 1` after `delayMs` (retry.ts). */
  retry?: { attempt: number; delayMs: number };
}

const OUTCOME_COLUMNS = ['state', 'result', 'error', 'logs', 'progress_percent', 'progress_message', 'abort_reason'];

/** The columns an outcome sets, in the order of OUTCOME_COLUMNS. */
function outcomeValues(outcome: Outcome): Value[] {
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

/** An abort reason already recorded (the user's, asked first) is kept. */
function assignment(column: string, value: string): string {
  if (column === 'state') return endedColumns(value);
  return column === 'abort_reason' ? `abort_reason = COALESCE(abort_reason, ${value})` : `${column} = ${value}`;
}

/** Records one final state. False when the task is no longer ours (swept as lost): nothing changes. */
export async function finishTask(db: Database, id: TaskId, schedulerId: string, outcome: Outcome): Promise<boolean> {
  const result = await db.write(
    `UPDATE \`${db.tables.task}\` SET ${OUTCOME_COLUMNS.map((column) => assignment(column, '?')).join(', ')}
      WHERE id = ? AND scheduler_id = ? AND state = 'running'`,
    [...outcomeValues(outcome), id, schedulerId],
  );
  return result.affectedRows === 1;
}

/** What a written outcome did: ended its task, or put it back for its next attempt. */
export type Written = 'ended' | 'retried';

/** Outcomes of one scheduler that ended together; those with `retry` go back to pending, one transaction each. */
export async function finishTasks(
  db: Database,
  schedulerId: string,
  outcomes: { taskId: TaskId; outcome: Outcome }[],
): Promise<Map<TaskId, Written>> {
  const written = new Map<TaskId, Written>();
  const ending = [];
  for (const entry of outcomes) {
    const retried = entry.outcome.retry && (await retry(db, schedulerId, entry.taskId, entry.outcome));
    if (retried) written.set(entry.taskId, 'retried');
    else ending.push(entry.outcome.retry ? { ...entry, outcome: { ...entry.outcome, retry: undefined } } : entry);
  }
  for (const id of await endTasks(db, schedulerId, ending)) written.set(id, 'ended');
  return written;
}

/**
 * Puts a failed run back for its next attempt. False when it cannot be (no longer ours, or its
 * abort was asked meanwhile: then it ends failed, as a run without attempts left).
 */
async function retry(db: Database, schedulerId: string, taskId: TaskId, outcome: Outcome): Promise<boolean> {
  const run: RetriedRun = {
    taskId,
    attempt: outcome.retry!.attempt,
    state: 'failed',
    error: outcome.error ?? { name: 'Error', message: 'The task failed.' },
    logs: outcome.logs,
    delayMs: outcome.retry!.delayMs,
  };
  if (await db.transaction((tx) => requeueForRetry(tx, db.tables, schedulerId, run))) return true;
  return retryWritten(db, schedulerId, run);
}

/**
 * Outcomes that end their tasks: one statement and one commit for all of them,
 * each column set by `CASE id`, or bound once when the whole batch shares its value (the state, an
 * empty log, no error). Only when some row did not change does a second read tell which did.
 */
async function endTasks(
  db: Database,
  schedulerId: string,
  outcomes: { taskId: TaskId; outcome: Outcome }[],
): Promise<Set<TaskId>> {
  if (outcomes.length === 0) return new Set();
  if (outcomes.length === 1) {
    const [{ taskId, outcome }] = outcomes;
    if (await finishTask(db, taskId, schedulerId, outcome)) return new Set([taskId]);
    return writtenAlready(db, schedulerId, outcomes);
  }
  const ids = outcomes.map((o) => o.taskId);
  const rows = outcomes.map((o) => outcomeValues(o.outcome));
  const whens = outcomes.map(() => 'WHEN ? THEN ?').join(' ');
  const sets: string[] = [];
  const values: Value[] = [];
  OUTCOME_COLUMNS.forEach((column, c) => {
    const shared = rows.every((row) => row[c] === rows[0][c]);
    sets.push(assignment(column, shared ? '?' : `CASE id ${whens} END`));
    if (shared) values.push(rows[0][c]);
    else values.push(...outcomes.flatMap((o, i) => [o.taskId, rows[i][c]]));
  });
  const result = await db.write(
    `UPDATE \`${db.tables.task}\` SET ${sets.join(', ')}
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
