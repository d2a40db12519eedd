/**
 * What every transition to an ended state sets besides its own columns: the state and `ended_at`.
 * The rest follows from the schema (migration 6): `active_key` is generated from `state` (it frees
 * the idempotency key) and `updated_at` moves by itself whenever a row changes.
 *
 * `state` is SQL: a quoted literal, or `?` bound by the caller.
 */
export function endedColumns(state: string): string {
  return `state = ${state}, ended_at = NOW(6)`;
}
