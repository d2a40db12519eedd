import { type ConcurrencyLimits, limitFor, renderKeyTemplate } from '../../concurrency';
import type { Queryable, Row, Value } from '../queryable';
import type { TableNames } from '../tableNames';
import { placeholders, taskFromRow } from '../taskRows';

/**
 * Concurrency keys in the claim (claim.ts). A claimed task with a key takes a free slot of its
 * key, 0 … limit - 1, in `concurrency_slot`; `held_slot` (migration 10) is that slot while the
 * task runs, and its unique key is what enforces the limit: two claimers that chose one slot
 * cannot both commit (on one server the second waits for the first and gets a duplicate key; on
 * Galera the second fails certification), and the claim is tried again. A task stops holding
 * its slot however it stops running (ended, requeued, released, lost), with no statement of its
 * own. What a key's limit is, is the claiming scheduler's config (`concurrencyLimits`).
 */

export interface ClaimConcurrency {
  limits: ConcurrencyLimits;
  /** The `concurrencyKey` template of each task name (and "*"), from `taskOptions`. */
  templates: ReadonlyMap<string, string>;
}

export const NO_CONCURRENCY: ClaimConcurrency = { limits: [], templates: new Map() };

/**
 * The keys no task may be claimed for now: those with as many running tasks as the limit their
 * claims applied (`concurrency_limit`, stamped with the slot). Read from the rows, not from a
 * config, so that the claim's pick and the wait inside the database (waitForClaimableTask.ts),
 * which has no config, agree: a scheduler claims past a full key's waiting tasks, and no wait
 * wakes for them. The slot a claim takes is still decided by the claimer's own limits.
 */
export function fullKeysSql(t: TableNames, application: string): string {
  return `SELECT r.concurrency_key FROM \`${t.task}\` r
           WHERE r.application = ${application} AND r.state = 'running' AND r.concurrency_key IS NOT NULL
           GROUP BY r.concurrency_key HAVING ${keyIsFull('r')}`;
}

/** A group of one key's running tasks (alias `alias`) is full: as many as their claims' largest limit. */
export function keyIsFull(alias: string): string {
  return `COUNT(*) >= MAX(COALESCE(${alias}.concurrency_limit, 1))`;
}

/** The key a picked row claims under: its own, else its task's template over its payload. */
function keyOf(row: Row, concurrency: ClaimConcurrency): { key: string | null; made: boolean } {
  if (row.concurrency_key) return { key: String(row.concurrency_key), made: false };
  const template = concurrency.templates.get(String(row.task)) ?? concurrency.templates.get('*');
  if (!template) return { key: null, made: false };
  return { key: renderKeyTemplate(template, taskFromRow(row).payload), made: true };
}

/** What one claim has chosen so far, over its picks. */
export class KeyedClaim {
  /** The rows to claim, in pick order. */
  readonly chosen: Row[] = [];
  /** The slot each chosen keyed task takes, and the limit it was chosen under. */
  readonly slots = new Map<string, Value>();
  readonly limits = new Map<string, Value>();
  /** Keys made from templates, for every picked row that had none (claimed or not). */
  readonly madeKeys = new Map<string, Value>();
  /** The slots held by each key this claim looked at, read once, with those it took since. */
  readonly taken = new Map<string, number[]>();
}

/** Slots held by running tasks, by key: a task running with no slot (claimed before keys) counts, as -1. */
async function heldSlots(tx: Queryable, t: TableNames, application: string, keys: string[]) {
  const held = new Map<string, number[]>();
  if (keys.length === 0) return held;
  const rows = await tx.select<{ concurrency_key: string; concurrency_slot: number | null }>(
    `SELECT concurrency_key, concurrency_slot FROM \`${t.task}\`
      WHERE application = ? AND state = 'running' AND concurrency_key IN (${placeholders(keys.length)})`,
    [application, ...keys],
  );
  for (const row of rows) {
    const list = held.get(row.concurrency_key) ?? [];
    list.push(row.concurrency_slot === null ? -1 : Number(row.concurrency_slot));
    held.set(row.concurrency_key, list);
  }
  return held;
}

/**
 * Adds to `claim`, in pick order and up to `limit` in all, the rows of `picked` whose keys have a
 * free slot; returns the keys found full and how many rows were left for them. The slots held are
 * read in this transaction (READ COMMITTED: every claim committed so far), so only a claim not yet
 * committed can take the same slot, and the unique key refuses one of the two.
 */
export async function chooseWithinLimits(
  tx: Queryable,
  t: TableNames,
  request: { application: string; limit: number; concurrency: ClaimConcurrency },
  picked: Row[],
  claim: KeyedClaim,
): Promise<{ fullKeys: Set<string>; left: number }> {
  const keys = new Map<string, string | null>();
  for (const row of picked) {
    const { key, made } = keyOf(row, request.concurrency);
    keys.set(String(row.id), key);
    if (made && key) claim.madeKeys.set(String(row.id), key);
  }
  const unread = [...new Set([...keys.values()].filter((k): k is string => k !== null && !claim.taken.has(k)))];
  for (const [key, slots] of await heldSlots(tx, t, request.application, unread)) claim.taken.set(key, slots);
  const fullKeys = new Set<string>();
  let left = 0;
  for (const row of picked) {
    if (claim.chosen.length >= request.limit) break;
    const id = String(row.id);
    const key = keys.get(id) ?? null;
    if (key === null) {
      claim.chosen.push(row);
      continue;
    }
    const slots = claim.taken.get(key) ?? [];
    const limit = limitFor(key, request.concurrency.limits);
    const free = slots.length < limit ? firstFreeSlot(slots, limit) : undefined;
    if (free === undefined) {
      fullKeys.add(key);
      left++;
      continue;
    }
    slots.push(free);
    claim.taken.set(key, slots);
    claim.chosen.push(row);
    claim.slots.set(id, free);
    claim.limits.set(id, limit);
    if (slots.length >= limit) fullKeys.add(key);
  }
  return { fullKeys, left };
}

function firstFreeSlot(slots: number[], limit: number): number | undefined {
  for (let slot = 0; slot < limit; slot++) if (!slots.includes(slot)) return slot;
  return undefined;
}

/** `column = CASE id WHEN ? THEN ? … ELSE column END`: per-row values in one UPDATE; none for none. */
export function perRow(column: string, values: ReadonlyMap<string, Value>): { sql: string; values: Value[] }[] {
  if (values.size === 0) return [];
  const bound: Value[] = [];
  for (const [id, value] of values) bound.push(id, value);
  return [
    {
      sql: `${column} = CASE id ${[...values].map(() => 'WHEN ? THEN ?').join(' ')} ELSE ${column} END`,
      values: bound,
    },
  ];
}
