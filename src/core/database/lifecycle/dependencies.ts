import { failure } from '../../failures';
import { isEnded, type TaskId, type TaskState } from '../../task';
import type { Database } from '../connection';
import type { Queryable } from '../queryable';
import type { TableNames } from '../tableNames';
import { placeholders, serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Dependencies: `waiting` → `pending` once every task it runs after has succeeded; `waiting` →
 * `skipped` once one of them ended otherwise or is gone (purged), its error naming that one.
 *
 * Input: the tasks just ended whose dependents to settle (a finisher, an abort), or none: every
 * waiting task, a batch at a time (maintenance, which catches the ends no one reported: an
 * expiry, a sweep's `lost`, a Galera node's commit). Output: how many were released and skipped,
 * and whether any task was waiting.
 * Guarantee: every write is fenced by `state = 'waiting'`, so resolvers racing (any scheduler, any
 * client) settle a task once; an ended task never changes, so what was read stays true. A skip
 * settles the skipped task's own dependents in the same call.
 */

interface Dependency {
  id: TaskId;
  /** null: no longer in the database. */
  state: TaskState | null;
}

type Verdict = { kind: 'wait' } | { kind: 'release' } | { kind: 'skip'; dependency: TaskId; ended: string };

/** What a waiting task's dependencies say: the first (by id) that ended otherwise skips it. */
function verdictOf(dependencies: Dependency[]): Verdict {
  const sorted = [...dependencies].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  for (const dependency of sorted) {
    if (dependency.state === null) return { kind: 'skip', dependency: dependency.id, ended: 'deleted' };
    if (dependency.state !== 'succeeded' && isEnded(dependency.state))
      return { kind: 'skip', dependency: dependency.id, ended: dependency.state };
  }
  return sorted.every((dependency) => dependency.state === 'succeeded') ? { kind: 'release' } : { kind: 'wait' };
}

/** Writes the verdicts; returns the ids released and skipped (those still waiting when written). */
async function apply(tx: Queryable, t: TableNames, verdicts: Map<TaskId, Verdict>) {
  const release = [...verdicts].filter(([, v]) => v.kind === 'release').map(([id]) => id);
  let released = 0;
  if (release.length > 0)
    released = (
      await tx.write(
        `UPDATE \`${t.task}\` SET state = 'pending' WHERE id IN (${placeholders(release.length)}) AND state = 'waiting'`,
        release,
      )
    ).affectedRows;
  const skipped: TaskId[] = [];
  for (const [id, verdict] of verdicts) {
    if (verdict.kind !== 'skip') continue;
    const error = failure('DependencyNotSucceeded', `#${verdict.dependency}`, verdict.ended);
    const result = await tx.write(
      `UPDATE \`${t.task}\` SET ${endedColumns("'skipped'")}, error = ? WHERE id = ? AND state = 'waiting'`,
      [serialiseError(error), id],
    );
    if (result.affectedRows > 0) skipped.push(id);
  }
  return { released, skipped };
}

/** A task just submitted with dependencies already read (submitAfter.ts, in its transaction). */
export async function settleAtSubmit(
  tx: Queryable,
  t: TableNames,
  id: TaskId,
  dependencies: Dependency[],
): Promise<void> {
  await apply(tx, t, new Map([[id, verdictOf(dependencies)]]));
}

/** The most rounds of skips one call follows down a chain of dependents. */
const MAX_ROUNDS = 20;

export async function settleDependents(
  db: Database,
  ended?: TaskId[],
  batchSize = 500,
): Promise<{ released: number; skipped: number; waiting: boolean }> {
  const t = db.tables;
  const total = { released: 0, skipped: 0, waiting: false };
  let frontier = ended;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (frontier?.length === 0) break;
    const waiting = frontier
      ? await db.select<{ id: string }>(
          `SELECT DISTINCT d.task_id AS id FROM \`${t.dependency}\` d
             JOIN \`${t.task}\` w ON w.id = d.task_id AND w.state = 'waiting'
            WHERE d.depends_on IN (${placeholders(frontier.length)}) LIMIT ?`,
          [...frontier, String(batchSize)],
        )
      : await db.select<{ id: string }>(`SELECT id FROM \`${t.task}\` WHERE state = 'waiting' ORDER BY id LIMIT ?`, [
          String(batchSize),
        ]);
    if (waiting.length === 0) break;
    total.waiting = true;
    const ids = waiting.map((row) => String(row.id));
    const rows = await db.select<{ task_id: string; depends_on: string; state: TaskState | null }>(
      `SELECT d.task_id, d.depends_on, t.state FROM \`${t.dependency}\` d
         LEFT JOIN \`${t.task}\` t ON t.id = d.depends_on
        WHERE d.task_id IN (${placeholders(ids.length)})`,
      ids,
    );
    const byTask = new Map<TaskId, Dependency[]>();
    for (const row of rows) {
      const list = byTask.get(String(row.task_id)) ?? [];
      list.push({ id: String(row.depends_on), state: row.state ?? null });
      byTask.set(String(row.task_id), list);
    }
    const verdicts = new Map([...byTask].map(([id, dependencies]) => [id, verdictOf(dependencies)] as const));
    const { released, skipped } = await apply(db, t, verdicts);
    total.released += released;
    total.skipped += skipped.length;
    frontier = skipped;
  }
  return total;
}
