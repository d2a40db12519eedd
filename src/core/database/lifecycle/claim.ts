import { DatabaseConflictError } from '../../errors';
import type { EffectiveTaskOptions } from '../../retries';
import type { Task } from '../../task';
import type { Database } from '../connection';
import type { Queryable, Row, TransactionOptions } from '../queryable';
import { isDuplicateKey } from '../databaseErrors';
import type { TableNames } from '../tableNames';
import { placeholders, SUMMARY_COLUMNS, taskFromRow } from '../taskRows';
import {
  type ClaimConcurrency,
  chooseWithinLimits,
  fullKeysSql,
  KeyedClaim,
  NO_CONCURRENCY,
  perRow,
} from './claimKeys';
import { stampAssignments } from './startStamp';

/**
 * Claim: `pending` → `running`, the only path that makes a task run.
 *
 * Input: a scheduler, one application and version, how many free slots (`limit`) and how many of
 * the claimed tasks start at once (`startNow`). Output: the claimed tasks as stamped.
 * Guarantee: no task is claimed twice, and no more tasks with one concurrency key run than its
 * limit. One transaction: the pick takes rows `FOR UPDATE SKIP LOCKED` (never waiting for another
 * claimer) joined to the claimer's own scheduler row with a fresh heartbeat (a swept or stale
 * scheduler claims nothing), and decides eligibility on the database clock; tasks with a key take
 * a slot of it (claimKeys.ts), and a pick whose rows were left for full keys is followed by
 * another that leaves those keys out. Why each part is as it is, and what was measured and
 * dropped: docs/design.md, "The claim".
 */

export interface ClaimRequest {
  schedulerId: string;
  application: string;
  /** The version this scheduler runs: tasks pinned to another version are left for others. */
  version: string;
  limit: number;
  /** This scheduler's own heartbeat must be younger than this for it to claim at all. */
  heartbeatTimeoutMs: number;
  /**
   * How many of the claimed tasks (the first, in claim order) start at once: their started mark is
   * written by the claim itself. The others are claimed ahead and marked when a slot takes them.
   */
  startNow?: number;
  /** What the started mark stamps on a task started now (startStamp.ts); none without `taskOptions`. */
  stampFor?: (task: Task) => EffectiveTaskOptions | undefined;
  /** The application's key limits and templates; without them every key has limit 1. */
  concurrency?: ClaimConcurrency;
}

/** A pick whose rows were all left for full keys is followed by at most this many more. */
const MAX_PICKS = 3;

/**
 * The tasks (alias `t`) a scheduler may claim for one application, given the SQL for the
 * application, version and scheduler id: `?` placeholders here, the parameters of the stored wait
 * procedure there (waitForClaimableTask.ts), so the wait and the claim cannot disagree. A paused
 * application has none: its pause row is read once, by the application given, not per task row,
 * so a paused backlog is not scanned (checked on MariaDB: no index read at all); and plainly, as a
 * locking read does not lock a subquery's rows.
 */
export function claimableCondition(t: TableNames, application: string, version: string, schedulerId: string): string {
  return `t.state = 'pending' AND t.application = ${application}
          AND (t.version IS NULL OR t.version = ${version})
          AND (t.debug_scheduler_id IS NULL OR t.debug_scheduler_id = ${schedulerId})
          AND t.run_after <= NOW(6)
          AND (t.start_before IS NULL OR t.start_before > NOW(6))
          AND NOT EXISTS (SELECT 1 FROM \`${t.pause}\` p WHERE p.application = ${application})
          AND (t.concurrency_key IS NULL OR t.concurrency_key NOT IN (${fullKeysSql(t, application)}))`;
}

/** Values: application, version, scheduler id, application, application. */
const claimable = (t: TableNames) => claimableCondition(t, '?', '?', '?');
const claimableValues = (request: { application: string; version: string; schedulerId: string }) => [
  request.application,
  request.version,
  request.schedulerId,
  request.application,
  request.application,
];

const PICKED_COLUMNS = SUMMARY_COLUMNS.split(', ')
  .map((column) => `t.${column}`)
  .join(', ');

/** Whether `claimTasks` would find anything: one indexed read, no lock (an idle scheduler's poll). */
export async function hasClaimableTask(
  db: Database,
  request: Omit<ClaimRequest, 'limit' | 'heartbeatTimeoutMs'>,
): Promise<boolean> {
  const rows = await db.select(
    `SELECT 1 AS found FROM \`${db.tables.task}\` t WHERE ${claimable(db.tables)} ORDER BY t.priority, t.id LIMIT 1`,
    claimableValues(request),
  );
  return rows.length > 0;
}

/** Pending rows this claimer may take, locked, leaving rows already picked and keys found full. */
async function pick(
  tx: Queryable,
  t: TableNames,
  request: ClaimRequest,
  limit: number,
  leave: { ids: string[]; keys: string[] },
): Promise<Row[]> {
  const leaveIds = leave.ids.length > 0 ? ` AND t.id NOT IN (${placeholders(leave.ids.length)})` : '';
  const leaveKeys =
    leave.keys.length > 0
      ? ` AND (t.concurrency_key IS NULL OR t.concurrency_key NOT IN (${placeholders(leave.keys.length)}))`
      : '';
  // LIMIT is bound as a string: MySQL 8 rejects a prepared LIMIT sent as a double.
  return tx.select(
    `SELECT ${PICKED_COLUMNS}, NOW(6) AS claim_now
       FROM \`${t.task}\` t
       JOIN \`${t.scheduler}\` s ON s.id = ? AND s.heartbeat_at > NOW(6) - INTERVAL ? MICROSECOND
      WHERE ${claimable(t)}${leaveIds}${leaveKeys}
      ORDER BY t.priority, t.id
      LIMIT ?
      FOR UPDATE SKIP LOCKED`,
    [
      request.schedulerId,
      request.heartbeatTimeoutMs * 1000,
      ...claimableValues(request),
      ...leave.ids,
      ...leave.keys,
      String(limit),
    ],
  );
}

export async function claimTasks(
  db: Database,
  request: ClaimRequest,
  options: Pick<TransactionOptions, 'onConflict'> = {},
): Promise<Task[]> {
  if (request.limit <= 0) return [];
  const t = db.tables;
  const keyed = { ...request, concurrency: request.concurrency ?? NO_CONCURRENCY };
  return db.transaction(async (tx) => {
    const claim = new KeyedClaim();
    const leave = { ids: [] as string[], keys: [] as string[] };
    for (let picks = 0; picks < MAX_PICKS && claim.chosen.length < request.limit; picks++) {
      const picked = await pick(tx, t, request, request.limit - claim.chosen.length, leave);
      if (picked.length === 0) break;
      const { fullKeys, left } = await chooseWithinLimits(tx, t, keyed, picked, claim);
      if (left === 0) break;
      leave.ids.push(...picked.map((row) => String(row.id)));
      leave.keys.push(...fullKeys);
    }
    await writeMadeKeys(tx, t, claim);
    if (claim.chosen.length === 0) return [];
    return markClaimed(tx, t, request, claim);
  }, options);
}

/** Keys made from templates for rows left pending: written, so the next picks leave them while full. */
async function writeMadeKeys(tx: Queryable, t: TableNames, claim: KeyedClaim): Promise<void> {
  const claimed = new Set(claim.chosen.map((row) => String(row.id)));
  const left = new Map([...claim.madeKeys].filter(([id]) => !claimed.has(id)));
  const [keys] = perRow('concurrency_key', left);
  if (!keys) return;
  await tx.write(
    `UPDATE \`${t.task}\` SET ${keys.sql} WHERE id IN (${placeholders(left.size)}) AND state = 'pending'`,
    [...keys.values, ...left.keys()],
  );
}

async function markClaimed(tx: Queryable, t: TableNames, request: ClaimRequest, claim: KeyedClaim): Promise<Task[]> {
  const picked = claim.chosen;
  const ids = picked.map((row) => String(row.id));
  const started = ids.slice(0, Math.max(0, Math.min(request.startNow ?? 0, ids.length)));
  // NOW(6) is the statement's start time: started_at equals claimed_at for the tasks started now.
  const startedNow = `id IN (${placeholders(started.length)})`;
  const startedSet =
    started.length > 0
      ? `, started_at = IF(${startedNow}, NOW(6), NULL), ran_version = IF(${startedNow}, ?, NULL)`
      : '';
  const stamp = stampAssignments(stampsOf(picked.slice(0, started.length), request));
  const keyed = [
    ...perRow('concurrency_key', claim.madeKeys),
    ...perRow('concurrency_slot', claim.slots),
    ...perRow('concurrency_limit', claim.limits),
  ];
  const keyedSql = keyed.map((assignment) => `, ${assignment.sql}`).join('');
  try {
    await tx.write(
      `UPDATE \`${t.task}\`
          SET state = 'running', scheduler_id = ?, attempt = attempt + 1, claimed_at = NOW(6)${startedSet}${stamp.sql}${keyedSql}
        WHERE id IN (${placeholders(ids.length)})`,
      [
        request.schedulerId,
        ...(started.length > 0 ? [...started, ...started, request.version] : []),
        ...stamp.values,
        ...keyed.flatMap((assignment) => assignment.values),
        ...ids,
      ],
    );
  } catch (error) {
    // Another claim, committed since this one read the slots held, took one of the same: the
    // transaction is rolled back and claimed again (Database.transaction retries conflicts).
    if (isDuplicateKey(error))
      throw new DatabaseConflictError('slot', 'another claim took the same concurrency slot', { cause: error });
    throw error;
  }
  return picked.map((row, index) => {
    const isStarted = index < started.length;
    const id = String(row.id);
    return taskFromRow({
      ...row,
      state: 'running',
      scheduler_id: request.schedulerId,
      attempt: Number(row.attempt) + 1,
      concurrency_key: claim.madeKeys.get(id) ?? row.concurrency_key,
      claimed_at: row.claim_now,
      updated_at: row.claim_now,
      started_at: isStarted ? row.claim_now : null,
      ran_version: isStarted ? request.version : null,
    });
  });
}

function stampsOf(rows: Record<string, unknown>[], request: ClaimRequest): Map<string, EffectiveTaskOptions> {
  const stamps = new Map<string, EffectiveTaskOptions>();
  if (!request.stampFor) return stamps;
  for (const row of rows) {
    const stamp = request.stampFor(taskFromRow(row));
    if (stamp) stamps.set(String(row.id), stamp);
  }
  return stamps;
}
