import type { TaskError, TaskId, TaskProgress } from '../../task';
import type { Database } from '../connection';
import type { Value } from '../queryable';
import { placeholders, serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Finish: `running` → `succeeded` | `failed` | `aborted`, the outcome its scheduler delivers (from
 * the outcome journal, so it survives the scheduler's crash and database outages).
 *
 * Input: the scheduler and its outcomes. Output: the ids whose outcome the database now holds.
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

/**
 * Outcomes of one scheduler that ended together: one statement and one commit for all of them,
 * each column set by `CASE id`, or bound once when the whole batch shares its value (the state, an
 * empty log, no error). Only when some row did not change does a second read tell which did.
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
