import type { Database } from './connection';
import { keyIsFull } from './lifecycle/claimKeys';

/**
 * The concurrency keys that are full now: as many tasks with the key running as the limit their
 * claims applied (the same rule as the claim's, lifecycle/claimKeys.ts). What `taskman list`,
 * the tree and `taskman show` say of a pending task with such a key: `key … busy`.
 */
export async function fullConcurrencyKeys(db: Database): Promise<FullKeys> {
  const rows = await db.select<{ application: string; concurrency_key: string }>(
    `SELECT r.application, r.concurrency_key FROM \`${db.tables.task}\` r
      WHERE r.state = 'running' AND r.concurrency_key IS NOT NULL
      GROUP BY r.application, r.concurrency_key HAVING ${keyIsFull('r')}`,
  );
  return new FullKeys(rows.map((row) => [row.application, row.concurrency_key]));
}

export class FullKeys {
  private readonly keys: Set<string>;

  constructor(keys: [application: string, key: string][] = []) {
    this.keys = new Set(keys.map(([application, key]) => `${application}\0${key}`));
  }

  /** Why a task does not start yet, if its key is full: `key customer:42 busy`. */
  reasonFor(task: { application: string; state: string; concurrencyKey: string | null }): string | undefined {
    if (task.state !== 'pending' || !task.concurrencyKey) return undefined;
    return this.keys.has(`${task.application}\0${task.concurrencyKey}`) ? `key ${task.concurrencyKey} busy` : undefined;
  }
}
