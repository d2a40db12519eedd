/** Tasks related to a task: the ones it runs after (`after`), and its children (`ctx.submit`). */
import { isEnded, type Task, type TaskId, type TaskState } from '../task';
import type { Database } from './connection';
import { placeholders, SUMMARY_COLUMNS, taskFromRow } from './taskRows';

/** A task another runs after, with its state (null: no longer in the database). */
export interface TaskDependency {
  id: TaskId;
  state: TaskState | null;
}

/** The tasks `id` runs after, by id. */
export async function dependenciesOf(db: Database, id: TaskId): Promise<TaskDependency[]> {
  const t = db.tables;
  const rows = await db.select<{ depends_on: string; state: TaskState | null }>(
    `SELECT d.depends_on, t.state FROM \`${t.dependency}\` d LEFT JOIN \`${t.task}\` t ON t.id = d.depends_on
      WHERE d.task_id = ? ORDER BY d.depends_on`,
    [id],
  );
  return rows.map((row) => ({ id: String(row.depends_on), state: row.state ?? null }));
}

/** For each of `ids`, the tasks it runs after that have not ended: what a waiting task waits for. */
export async function unfinishedDependencies(db: Database, ids: TaskId[]): Promise<Map<TaskId, TaskId[]>> {
  const waitingFor = new Map<TaskId, TaskId[]>();
  if (ids.length === 0) return waitingFor;
  const t = db.tables;
  const rows = await db.select<{ task_id: string; depends_on: string }>(
    `SELECT d.task_id, d.depends_on FROM \`${t.dependency}\` d
       JOIN \`${t.task}\` t ON t.id = d.depends_on AND t.state IN ('waiting', 'pending', 'running')
      WHERE d.task_id IN (${placeholders(ids.length)}) ORDER BY d.depends_on`,
    ids,
  );
  for (const row of rows) {
    const list = waitingFor.get(String(row.task_id)) ?? [];
    list.push(String(row.depends_on));
    waitingFor.set(String(row.task_id), list);
  }
  return waitingFor;
}

/** `waiting for #12, #13`: why a waiting task does not start yet. */
export function waitingForText(dependencies: readonly TaskId[] | undefined): string | undefined {
  return dependencies?.length ? `waiting for ${dependencies.map((id) => `#${id}`).join(', ')}` : undefined;
}

/** The most children `childrenOf` lists. */
export const MAX_CHILDREN_LISTED = 1000;

/** The tasks `id`'s code submitted (`ctx.submit`), oldest first. */
export async function childrenOf(db: Database, id: TaskId): Promise<Task[]> {
  const rows = await db.select(
    `SELECT ${SUMMARY_COLUMNS} FROM \`${db.tables.task}\` WHERE parent_id = ? ORDER BY id LIMIT ?`,
    [id, String(MAX_CHILDREN_LISTED)],
  );
  return rows.map(taskFromRow);
}

/** Which of `ids` have children: what makes a row of the tree expandable. */
export async function withChildren(db: Database, ids: TaskId[]): Promise<Set<TaskId>> {
  if (ids.length === 0) return new Set();
  const rows = await db.select<{ parent_id: string }>(
    `SELECT DISTINCT parent_id FROM \`${db.tables.task}\` WHERE parent_id IN (${placeholders(ids.length)})`,
    ids,
  );
  return new Set(rows.map((row) => String(row.parent_id)));
}

/** The descendants of `id` (children, theirs, …) that have not ended, nearest first. */
export async function unfinishedDescendants(db: Database, id: TaskId, limit = 10_000): Promise<TaskId[]> {
  const found: TaskId[] = [];
  let frontier = [id];
  while (frontier.length > 0 && found.length < limit) {
    const rows = await db.select<{ id: string; state: TaskState }>(
      `SELECT id, state FROM \`${db.tables.task}\` WHERE parent_id IN (${placeholders(frontier.length)})`,
      frontier,
    );
    frontier = rows.map((row) => String(row.id));
    found.push(...rows.filter((row) => !isEnded(row.state)).map((row) => String(row.id)));
  }
  return found.slice(0, limit);
}
