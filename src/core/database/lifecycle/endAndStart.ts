import type { EffectiveTaskOptions } from '../../retries';
import type { TaskError, TaskId, TaskProgress } from '../../task';
import type { Database } from '../connection';
import type { Value } from '../queryable';
import { placeholders, serialiseError } from '../taskRows';
import { endedAssignments } from './endedColumns';
import { stampAssignments } from './startStamp';

/**
 * End and start: `running` → `succeeded` | `failed` | `aborted` for the runs that just ended, and
 * the started marks (`running` stays `running`, `started_at` committed) of the tasks about to take
 * their slots, in one statement and one commit. A scheduler turning over short tasks writes each
 * outcome and its successor's mark together (TaskWrites); either list may be empty.
 *
 * Input: one scheduler; outcomes without `retry` (retry.ts puts those back); the tasks to mark,
 * each with the version it runs and what its mark stamps (startStamp.ts).
 * Output: the outcomes the database now holds, and each task's StartMark.
 * Guarantee: each row is fenced as it would be alone. An outcome by `scheduler_id = ? AND state =
 * 'running'`: once a sweeper declared the scheduler dead (the task is `lost`), its late outcome
 * changes nothing. A mark by the same and `started_at IS NULL`, never for a task whose abort was
 * asked or whose start-before deadline passed. Written again after a lost reply, an outcome is found
 * written and a mark found started: both count as done.
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

/**
 * `overdue`: its start-before deadline passed while it waited for a slot after being claimed (see
 * ClaimedAhead); it is not started.
 */
export type StartMark = 'started' | 'abort-requested' | 'overdue' | 'not-owned';

export interface EndingRun {
  taskId: TaskId;
  outcome: Outcome;
}

export interface StartingRun {
  taskId: TaskId;
  /** The version of the application that runs it (`ran_version`). */
  version: string;
  stamp?: EffectiveTaskOptions;
}

const OUTCOME_COLUMNS = ['result', 'error', 'logs', 'progress_percent', 'progress_message', 'abort_reason'] as const;

/** The columns an outcome sets besides its state, in the order of OUTCOME_COLUMNS. */
function outcomeValues(outcome: Outcome): Value[] {
  return [
    outcome.resultJson ?? null,
    outcome.error ? serialiseError(outcome.error) : null,
    outcome.logs,
    outcome.progress.percent,
    outcome.progress.message?.slice(0, 1024) ?? null,
    outcome.abortReason?.slice(0, 1024) ?? null,
  ];
}

/** The assignments of a SET, with their values in the order of their placeholders. */
class Assignments {
  readonly sql: string[] = [];
  readonly values: Value[] = [];

  /**
   * `only`: a condition (with its values) that limits the assignment to some rows; the others
   * keep their value. Without it, every row the statement matches takes it.
   */
  constructor(private readonly only?: { sql: string; values: Value[] }) {}

  add(column: string, expression: string, values: Value[] = []): void {
    if (!this.only) {
      this.sql.push(`${column} = ${expression}`);
      this.values.push(...values);
      return;
    }
    this.sql.push(`${column} = IF(${this.only.sql}, ${expression}, ${column})`);
    this.values.push(...this.only.values, ...values);
  }

  /** One value for every row (`?`, bound once) when all share it, else `CASE id WHEN ? THEN ? … END`. */
  addPerRow(column: string, ids: TaskId[], rowValues: Value[], wrap = (expression: string) => expression): void {
    if (rowValues.every((value) => value === rowValues[0])) {
      this.add(column, wrap('?'), [rowValues[0]]);
      return;
    }
    this.add(
      column,
      wrap(`CASE id ${ids.map(() => 'WHEN ? THEN ?').join(' ')} END`),
      ids.flatMap((id, i) => [id, rowValues[i]]),
    );
  }
}

const START_FENCE =
  'started_at IS NULL AND abort_requested_at IS NULL AND (start_before IS NULL OR start_before > NOW(6))';

export async function endAndStart(
  db: Database,
  schedulerId: string,
  ending: readonly EndingRun[],
  starting: readonly StartingRun[],
): Promise<{ ended: Set<TaskId>; marks: Map<TaskId, StartMark> }> {
  if (ending.length === 0 && starting.length === 0) return { ended: new Set(), marks: new Map() };
  const endIds = ending.map((run) => run.taskId);
  const startIds = starting.map((run) => run.taskId);
  const both = ending.length > 0 && starting.length > 0;
  const ends = new Assignments(both ? { sql: `id IN (${placeholders(endIds.length)})`, values: endIds } : undefined);
  if (ending.length > 0) {
    for (const [column, expression] of endedAssignments('?')) {
      if (expression === '?')
        ends.addPerRow(
          column,
          endIds,
          ending.map((run) => run.outcome.state),
        );
      else ends.add(column, expression);
    }
    const rows = ending.map((run) => outcomeValues(run.outcome));
    OUTCOME_COLUMNS.forEach((column, c) => {
      const values = rows.map((row) => row[c]);
      // An abort reason already recorded (the user's, asked first) is kept.
      if (column === 'abort_reason') ends.addPerRow(column, endIds, values, (e) => `COALESCE(abort_reason, ${e})`);
      else ends.addPerRow(column, endIds, values);
    });
  }
  const starts = new Assignments(
    both ? { sql: `id IN (${placeholders(startIds.length)})`, values: startIds } : undefined,
  );
  if (starting.length > 0) {
    starts.add('started_at', 'NOW(6)');
    starts.addPerRow(
      'ran_version',
      startIds,
      starting.map((run) => run.version),
    );
  }
  // A row not stamped keeps its values (COALESCE with NULL), so the stamps need no condition.
  const stamp = stampAssignments(
    new Map(starting.flatMap((run) => (run.stamp ? [[run.taskId, run.stamp] as const] : []))),
  );
  const ids = [...endIds, ...startIds];
  const fence =
    starting.length === 0
      ? { sql: '', values: [] }
      : ending.length === 0
        ? { sql: ` AND ${START_FENCE}`, values: [] }
        : { sql: ` AND (id IN (${placeholders(endIds.length)}) OR (${START_FENCE}))`, values: endIds };
  const result = await db.write(
    `UPDATE \`${db.tables.task}\` SET ${[...ends.sql, ...starts.sql].join(', ')}${stamp.sql}
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running'${fence.sql}`,
    [...ends.values, ...starts.values, ...stamp.values, ...ids, schedulerId, ...fence.values],
  );
  if (result.affectedRows === ids.length)
    return { ended: new Set(endIds), marks: new Map(startIds.map((id) => [id, 'started'])) };
  return readBack(db, schedulerId, ending, startIds);
}

/**
 * Which rows the statement left unchanged, and why: an outcome counts as written when its row is
 * ours in the state it writes (now, or by an attempt whose reply was lost); a mark tells a task
 * started already from an abort request, a passed deadline and a task no longer ours.
 */
async function readBack(
  db: Database,
  schedulerId: string,
  ending: readonly EndingRun[],
  startIds: TaskId[],
): Promise<{ ended: Set<TaskId>; marks: Map<TaskId, StartMark> }> {
  const ids = [...ending.map((run) => run.taskId), ...startIds];
  const rows = await db.select<{
    id: string;
    state: string;
    abort_requested_at: Date | null;
    started_at: Date | null;
    overdue: number;
  }>(
    `SELECT id, state, abort_requested_at, started_at, (start_before IS NOT NULL AND start_before <= NOW(6)) AS overdue
       FROM \`${db.tables.task}\` WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ?`,
    [...ids, schedulerId],
  );
  const found = new Map(rows.map((row) => [String(row.id), row]));
  const ended = new Set(
    ending.filter((run) => found.get(run.taskId)?.state === run.outcome.state).map((r) => r.taskId),
  );
  const marks = new Map<TaskId, StartMark>();
  for (const id of startIds) {
    const row = found.get(id);
    marks.set(id, row?.state === 'running' ? markOf(row) : 'not-owned');
  }
  return { ended, marks };
}

function markOf(row: { abort_requested_at: Date | null; started_at: Date | null; overdue: number }): StartMark {
  // started_at already set: an earlier attempt of this same mark committed (its reply was lost).
  if (row.started_at) return 'started';
  if (row.abort_requested_at) return 'abort-requested';
  return Number(row.overdue) ? 'overdue' : 'not-owned';
}
