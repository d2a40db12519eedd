import type { EffectiveTaskOptions } from '../../retries';
import type { TaskId } from '../../task';
import type { Value } from '../queryable';

/**
 * The assignments with which a started mark (claim.ts, markStarted.ts) stamps each task's options
 * from its application's config onto its row, where the submission left them unset: `SET … ,
 * retries = COALESCE(retries, CASE id WHEN ? THEN ? … END)`, one CASE per column for the tasks
 * stamped; a row not named keeps its value. Nothing when no task is stamped (no `taskOptions`).
 */
const STAMPED: readonly [column: string, value: (options: EffectiveTaskOptions) => Value][] = [
  ['retries', (o) => o.retries],
  ['retry_delay_ms', (o) => o.retryDelayMs],
  ['retry_max_delay_ms', (o) => o.retryMaxDelayMs],
  ['idempotent', (o) => (o.idempotent ? 1 : 0)],
  ['timeout_ms', (o) => o.timeoutMs],
];

export function stampAssignments(stamps: ReadonlyMap<TaskId, EffectiveTaskOptions>): {
  sql: string;
  values: Value[];
} {
  if (stamps.size === 0) return { sql: '', values: [] };
  const whens = [...stamps.keys()].map(() => 'WHEN ? THEN ?').join(' ');
  const values: Value[] = [];
  const sql = STAMPED.map(([column, value]) => {
    for (const [id, options] of stamps) values.push(id, value(options));
    return `, ${column} = COALESCE(${column}, CASE id ${whens} END)`;
  }).join('');
  return { sql, values };
}
