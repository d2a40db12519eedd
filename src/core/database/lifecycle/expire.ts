import { failure } from '../../failures';
import type { Database } from '../connection';
import { placeholders, serialiseError } from '../taskRows';
import { endedColumns } from './endedColumns';

/**
 * Expire: `pending` or `waiting` → `expired` once `start_before` has passed (its dependents are
 * then skipped by maintenance's settleDependents). The claim already refuses such
 * tasks, so this only makes their state honest; any scheduler's maintenance may run it.
 *
 * Output: how many expired. Guarantee: rows are taken `FOR UPDATE SKIP LOCKED`, so a row locked by
 * a claim in flight (possibly of a scheduler the network just cut off, whose transaction lives on
 * until the server ends its session) is left for the next round instead of waited for; a cheap
 * unlocked look first keeps the usual case (nothing to expire) at one statement.
 */
export async function expireOverdueTasks(db: Database, batchSize = 500): Promise<number> {
  const t = db.tables;
  const overdue = `state IN ('pending', 'waiting') AND start_before IS NOT NULL AND start_before <= NOW(6)`;
  const any = await db.select(`SELECT id FROM \`${t.task}\` WHERE ${overdue} LIMIT 1`);
  if (any.length === 0) return 0;
  return db.transaction(async (tx) => {
    const rows = await tx.select<{ id: string }>(
      `SELECT id FROM \`${t.task}\` WHERE ${overdue} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [String(batchSize)],
    );
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => String(row.id));
    const result = await tx.write(
      `UPDATE \`${t.task}\` SET ${endedColumns("'expired'")}, error = ?
        WHERE id IN (${placeholders(ids.length)}) AND ${overdue}`,
      [serialiseError(failure('TaskExpired')), ...ids],
    );
    return result.affectedRows;
  });
}
