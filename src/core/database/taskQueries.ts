import { InvalidInputError } from '../errors';
import { isTaskState, Task, TaskId, TaskState } from '../task';
import { Database, Value } from './connection';
import { ALL_COLUMNS, placeholders, SUMMARY_COLUMNS, taskFromRow } from './taskRows';

export function validTaskId(id: unknown): TaskId {
  const text = String(id ?? '').trim();
  if (!/^[1-9][0-9]{0,19}$/.test(text)) throw new InvalidInputError(`${JSON.stringify(id)} is not a task id (a positive whole number).`);
  return text;
}

export async function getTask(db: Database, id: TaskId): Promise<Task | undefined> {
  const rows = await db.select(`SELECT ${ALL_COLUMNS} FROM \`${db.tables.task}\` WHERE id = ?`, [validTaskId(id)]);
  return rows.length ? taskFromRow(rows[0]) : undefined;
}

export interface TaskFilter {
  states?: TaskState[];
  applications?: string[];
  task?: string;
  /** Keyset paging: only tasks with a smaller id (the last id of the previous page). */
  beforeId?: TaskId;
  /** Only tasks changed after this time (as returned in `updatedAt`), for incremental refresh. */
  updatedAfter?: Date;
  /** Default 50, at most 1000. */
  limit?: number;
  /** Include `result` and `logs`; off by default, they can be large. */
  full?: boolean;
}

/** Newest first. Lists leave out result and logs unless `full` is set. */
export async function listTasks(db: Database, filter: TaskFilter = {}): Promise<Task[]> {
  const where: string[] = [];
  const values: Value[] = [];
  if (filter.states?.length) {
    for (const state of filter.states) if (!isTaskState(state)) throw new InvalidInputError(`Unknown state "${state}".`);
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
  if (filter.beforeId) {
    where.push('id < ?');
    values.push(validTaskId(filter.beforeId));
  }
  if (filter.updatedAfter) {
    where.push('updated_at > ?');
    values.push(filter.updatedAfter);
  }
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInputError(`The limit must be from 1 to 1000, got ${limit}.`);
  const rows = await db.select(
    `SELECT ${filter.full ? ALL_COLUMNS : SUMMARY_COLUMNS} FROM \`${db.tables.task}\`
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT ?`,
    [...values, String(limit)],
  );
  return rows.map(taskFromRow);
}

/** Tasks of these applications that are pending or running (for `worker --until-idle`). */
export async function countUnfinished(db: Database, applications: string[]): Promise<number> {
  if (applications.length === 0) return 0;
  const rows = await db.select<{ n: number }>(
    `SELECT COUNT(*) AS n FROM \`${db.tables.task}\` WHERE state IN ('pending', 'running') AND application IN (${placeholders(applications.length)})`,
    applications,
  );
  return Number(rows[0].n);
}

export async function countByState(db: Database): Promise<Record<TaskState, number>> {
  const rows = await db.select<{ state: TaskState; n: number }>(`SELECT state, COUNT(*) AS n FROM \`${db.tables.task}\` GROUP BY state`);
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, aborted: 0, lost: 0, expired: 0 };
  for (const row of rows) counts[row.state] = Number(row.n);
  return counts;
}
