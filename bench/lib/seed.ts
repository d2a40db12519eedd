import type * as mysql from 'mysql2/promise';

/**
 * Bulk rows for benchmarks that need many tasks fast (the product path, `submit`, commits one
 * task at a time). Rows look exactly like submitted ones.
 */
export async function insertTasks(
  sql: mysql.Connection,
  options: { count: number; state: 'pending' | 'succeeded'; task?: string; payload?: unknown; table?: string },
): Promise<void> {
  const table = options.table ?? 'taskman_task';
  const chunk = 5000;
  for (let done = 0; done < options.count; done += chunk) {
    const n = Math.min(chunk, options.count - done);
    const ended = options.state === 'succeeded';
    // Ended rows ended a day ago, as a history does: they are not "changed since the last refresh".
    const then = ended ? 'NOW(6) - INTERVAL 1 DAY' : 'NOW(6)';
    const row = `('bench', ?, ?, ?, 0, ${then}, ${ended ? then : 'NULL'}, ${ended ? "'null'" : 'NULL'}, ${ended ? 1 : 0}, ${then}, ${then})`;
    const values: string[] = [];
    for (let i = 0; i < n; i++)
      values.push(options.task ?? 'noop', JSON.stringify(options.payload ?? null), options.state);
    await sql.execute(
      `INSERT INTO \`${table}\` (application, task, payload, state, priority, run_after, ended_at, result, attempt, created_at, updated_at) VALUES ${Array(n).fill(row).join(',')}`,
      values,
    );
  }
}

/** Puts every task of the bench application back to pending, as if never claimed. */
export async function resetToPending(sql: mysql.Connection): Promise<void> {
  await sql.query(
    "UPDATE taskman_task SET state = 'pending', scheduler_id = NULL, claimed_at = NULL, attempt = 0 WHERE application = 'bench'",
  );
}
