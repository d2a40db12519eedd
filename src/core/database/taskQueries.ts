import { InvalidInputError } from '../errors';
import {
  isTaskState,
  TASK_STATES,
  type Task,
  type TaskAttempt,
  type TaskError,
  type TaskId,
  type TaskState,
} from '../task';
import type { Database } from './connection';
import type { Value } from './queryable';
import { ALL_COLUMNS, parseStoredJson, placeholders, SUMMARY_COLUMNS, taskFromRow } from './taskRows';

export function validTaskId(id: unknown): TaskId {
  const text = String(id ?? '').trim();
  if (!/^[1-9][0-9]{0,19}$/.test(text))
    throw new InvalidInputError(`${JSON.stringify(id)} is not a task id (a positive whole number).`);
  return text;
}

export async function getTask(db: Database, id: TaskId): Promise<Task | undefined> {
  const rows = await db.select(`SELECT ${ALL_COLUMNS} FROM \`${db.tables.task}\` WHERE id = ?`, [validTaskId(id)]);
  return rows.length ? taskFromRow(rows[0]) : undefined;
}

/** A task's earlier attempts (those it was retried after), oldest first. */
export async function listAttempts(db: Database, id: TaskId): Promise<TaskAttempt[]> {
  const rows = await db.select(
    `SELECT attempt, state, error, logs, scheduler_id, ran_version, claimed_at, started_at, ended_at, retry_at
       FROM \`${db.tables.attempt}\` WHERE task_id = ? ORDER BY attempt`,
    [validTaskId(id)],
  );
  return rows.map((row) => ({
    attempt: Number(row.attempt),
    state: row.state as TaskAttempt['state'],
    error: row.error === null ? null : (parseStoredJson(row.error) as TaskError),
    logs: (row.logs as string | null) ?? null,
    schedulerId: row.scheduler_id === null ? null : String(row.scheduler_id),
    ranVersion: (row.ran_version as string | null) ?? null,
    claimedAt: (row.claimed_at as Date | null) ?? null,
    startedAt: (row.started_at as Date | null) ?? null,
    endedAt: row.ended_at as Date,
    retryAt: row.retry_at as Date,
  }));
}

export interface TaskFilter {
  states?: TaskState[];
  applications?: string[];
  task?: string;
  /** An id (`243` or `#243`), or text found in the task's name, payload or error (case-insensitive). */
  search?: string;
  /** Only the reruns of this task. */
  rerunOf?: TaskId;
  /** Keyset paging: only tasks with a smaller id (the last id of the previous page). */
  beforeId?: TaskId;
  /** Only tasks changed after this time (as returned in `updatedAt`), for incremental refresh. */
  updatedAfter?: Date;
  /** Default 50, at most 1000. */
  limit?: number;
  /** Include `result` and `logs`; off by default, they can be large. */
  full?: boolean;
}

/** The columns tasks can be grouped and counted by. */
export type TaskGrouping = 'state' | 'task' | 'application';

const LIKE_ESCAPE = '!';

/** `%text%` for LIKE … ESCAPE '!': the user's `%`, `_` and `!` match themselves. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => LIKE_ESCAPE + c)}%`;
}

/** The WHERE clause of a filter (paging and limit aside), its values bound. */
function filterClause(filter: TaskFilter): { sql: string; values: Value[] } {
  const where: string[] = [];
  const values: Value[] = [];
  if (filter.states?.length) {
    for (const state of filter.states)
      if (!isTaskState(state)) throw new InvalidInputError(`Unknown state "${state}".`);
    where.push(`state IN (${placeholders(filter.states.length)})`);
    values.push(...filter.states);
  }
  if (filter.applications?.length) {
    where.push(`application IN (${placeholders(filter.applications.length)})`);
    values.push(...filter.applications);
  }
  if (filter.task) {
    where.push('task = ?');
    values.push(filter.task);
  }
  const search = filter.search?.trim();
  if (search) {
    if (search.length > 200) throw new InvalidInputError('A search is at most 200 characters.');
    const text = `LOWER(task) LIKE ? ESCAPE '${LIKE_ESCAPE}' OR LOWER(payload) LIKE ? ESCAPE '${LIKE_ESCAPE}' OR LOWER(error) LIKE ? ESCAPE '${LIKE_ESCAPE}'`;
    const pattern = containsPattern(search);
    const id = /^#?([1-9][0-9]{0,19})$/.exec(search)?.[1];
    where.push(id ? `(id = ? OR ${text})` : `(${text})`);
    values.push(...(id ? [id] : []), pattern, pattern, pattern);
  }
  if (filter.rerunOf) {
    where.push('rerun_of = ?');
    values.push(validTaskId(filter.rerunOf));
  }
  if (filter.beforeId) {
    where.push('id < ?');
    values.push(validTaskId(filter.beforeId));
  }
  if (filter.updatedAfter) {
    where.push('updated_at > ?');
    values.push(filter.updatedAfter);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', values };
}

/** Newest first. Lists leave out result and logs unless `full` is set. */
export async function listTasks(db: Database, filter: TaskFilter = {}): Promise<Task[]> {
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidInputError(`The limit must be from 1 to 1000, got ${limit}.`);
  const { sql, values } = filterClause(filter);
  const rows = await db.select(
    `SELECT ${filter.full ? ALL_COLUMNS : SUMMARY_COLUMNS} FROM \`${db.tables.task}\` ${sql} ORDER BY id DESC LIMIT ?`,
    [...values, String(limit)],
  );
  return rows.map(taskFromRow);
}

/**
 * How many tasks match the filter, per value of one column, in one grouped statement (the
 * Tasks view's group counts). Paging fields of the filter are ignored.
 */
export async function countTasks(
  db: Database,
  filter: TaskFilter,
  groupBy: TaskGrouping,
): Promise<Map<string, number>> {
  const { sql, values } = filterClause({ ...filter, beforeId: undefined, updatedAfter: undefined });
  const column = { state: 'state', task: 'task', application: 'application' }[groupBy];
  const rows = await db.select<{ value: string; n: number }>(
    `SELECT ${column} AS value, COUNT(*) AS n FROM \`${db.tables.task}\` ${sql} GROUP BY ${column}`,
    values,
  );
  return new Map(rows.map((row) => [String(row.value), Number(row.n)]));
}

export async function countByState(db: Database, filter: TaskFilter = {}): Promise<Record<TaskState, number>> {
  const counts = Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>;
  for (const [state, n] of await countTasks(db, filter, 'state')) counts[state as TaskState] = n;
  return counts;
}
