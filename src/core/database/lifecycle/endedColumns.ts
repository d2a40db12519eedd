/**
 * What every transition to an ended state sets besides its own columns: the state, `ended_at`,
 * and `active_key = NULL`, which frees the task's idempotency key. `updated_at` moves by itself
 * (migration 6). `active_key` is not a generated column, although MariaDB and MySQL 8 could keep
 * it: both refuse a statement that writes a generated column, and the statements of a previous
 * Taskman, still running during an upgrade, write it (docs/design.md, "The tables").
 *
 * `state` is SQL: a quoted literal, or `?` bound by the caller.
 */
export function endedColumns(state: string): string {
  return endedAssignments(state)
    .map(([column, expression]) => `${column} = ${expression}`)
    .join(', ');
}

/** The same, as column and expression pairs, for a statement that sets them only on some rows (endAndStart.ts). */
export function endedAssignments(state: string): [column: string, expression: string][] {
  return [
    ['state', state],
    ['active_key', 'NULL'],
    ['ended_at', 'NOW(6)'],
  ];
}
