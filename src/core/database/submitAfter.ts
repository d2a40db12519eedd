import { InvalidInputError } from '../errors';
import type { TaskState } from '../task';
import type { Database } from './connection';
import { isDuplicateKey } from './databaseErrors';
import { settleAtSubmit } from './lifecycle';
import { existingWithKey, INSERT_COLUMNS, rowOf, type SubmitResult, type ValidSubmission } from './submitTask';
import { placeholders } from './taskRows';

/**
 * Submit a task that runs after others (`after`). Input: a valid submission naming its
 * dependencies. Output: its id (or, with a key, the id of the task that has it).
 * Guarantee: one transaction inserts the task `waiting` and its dependency rows, after reading
 * the dependencies `LOCK IN SHARE MODE` (MariaDB has no `FOR SHARE`): each must exist (else nothing is written), none is the task
 * itself, and none can end between this read and the commit, so the finisher that ends one sees
 * this task among its dependents. Already settled dependencies settle it at once: all succeeded,
 * `pending`; one ended otherwise, `skipped` (lifecycle/dependencies.ts). On Galera, whose locks
 * stay on their node, a dependency ended elsewhere meanwhile is settled by maintenance.
 */
export async function submitAfter(db: Database, valid: ValidSubmission): Promise<SubmitResult> {
  const t = db.tables;
  const row = rowOf(valid);
  try {
    return await db.transaction(async (tx) => {
      const inserted = await tx.write(`INSERT INTO \`${t.task}\` (${INSERT_COLUMNS}) VALUES ${row.sql}`, row.values);
      const id = String(inserted.insertId);
      if (valid.after.includes(id)) throw new InvalidInputError(`Task ${id} cannot run after itself.`);
      const found = await tx.select<{ id: string; state: TaskState }>(
        `SELECT id, state FROM \`${t.task}\` WHERE id IN (${placeholders(valid.after.length)}) LOCK IN SHARE MODE`,
        valid.after,
      );
      const states = new Map(found.map((dependency) => [String(dependency.id), dependency.state]));
      const missing = valid.after.filter((dependency) => !states.has(dependency));
      if (missing.length > 0)
        throw new InvalidInputError(
          `after names ${missing.length === 1 ? 'task' : 'tasks'} ${missing.join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not exist: nothing was submitted.`,
        );
      await tx.write(
        `INSERT INTO \`${t.dependency}\` (task_id, depends_on) VALUES ${valid.after.map(() => '(?, ?)').join(', ')}`,
        valid.after.flatMap((dependency) => [id, dependency]),
      );
      await settleAtSubmit(
        tx,
        t,
        id,
        valid.after.map((dependency) => ({ id: dependency, state: states.get(dependency)! })),
      );
      return { id, created: true };
    });
  } catch (error) {
    if (!valid.key || !isDuplicateKey(error)) throw error;
    const existing = await existingWithKey(db, valid);
    if (existing) return { id: existing, created: false };
    throw error;
  }
}
