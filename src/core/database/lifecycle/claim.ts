import type { EffectiveTaskOptions } from '../../retries';
import type { Task } from '../../task';
import type { Database } from '../connection';
import type { TransactionOptions } from '../queryable';
import type { TableNames } from '../tableNames';
import { placeholders, SUMMARY_COLUMNS, taskFromRow } from '../taskRows';
import { stampAssignments } from './startStamp';

/**
 * Claim: `pending` → `running`, the only path that makes a task run.
 *
 * Input: a scheduler, one application and version, how many free slots (`limit`) and how many of
 * the claimed tasks start at once (`startNow`). Output: the claimed tasks as stamped.
 * Guarantee: no task is claimed twice. One transaction: the pick takes rows `FOR UPDATE SKIP
 * LOCKED` (never waiting for another claimer) joined to the claimer's own scheduler row with a
 * fresh heartbeat (a swept or stale scheduler claims nothing), and decides eligibility on the
 * database clock. Why each part is as it is, and what was measured and dropped: docs/design.md,
 * "The claim".
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
}

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
          AND NOT EXISTS (SELECT 1 FROM \`${t.pause}\` p WHERE p.application = ${application})`;
}

/** Values: application, version, scheduler id, application. */
const claimable = (t: TableNames) => claimableCondition(t, '?', '?', '?');

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
    [request.application, request.version, request.schedulerId, request.application],
  );
  return rows.length > 0;
}

export async function claimTasks(
  db: Database,
  request: ClaimRequest,
  options: Pick<TransactionOptions, 'onConflict'> = {},
): Promise<Task[]> {
  if (request.limit <= 0) return [];
  const t = db.tables;
  return db.transaction(async (tx) => {
    // LIMIT is bound as a string: MySQL 8 rejects a prepared LIMIT sent as a double.
    const picked = await tx.select(
      `SELECT ${PICKED_COLUMNS}, NOW(6) AS claim_now
         FROM \`${t.task}\` t
         JOIN \`${t.scheduler}\` s ON s.id = ? AND s.heartbeat_at > NOW(6) - INTERVAL ? MICROSECOND
        WHERE ${claimable(t)}
        ORDER BY t.priority, t.id
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [
        request.schedulerId,
        request.heartbeatTimeoutMs * 1000,
        request.application,
        request.version,
        request.schedulerId,
        request.application,
        String(request.limit),
      ],
    );
    if (picked.length === 0) return [];
    const ids = picked.map((row) => String(row.id));
    const started = ids.slice(0, Math.max(0, Math.min(request.startNow ?? 0, ids.length)));
    // NOW(6) is the statement's start time: started_at equals claimed_at for the tasks started now.
    const startedNow = `id IN (${placeholders(started.length)})`;
    const startedSet =
      started.length > 0
        ? `, started_at = IF(${startedNow}, NOW(6), NULL), ran_version = IF(${startedNow}, ?, NULL)`
        : '';
    const stamp = stampAssignments(stampsOf(picked.slice(0, started.length), request));
    await tx.write(
      `UPDATE \`${t.task}\`
          SET state = 'running', scheduler_id = ?, attempt = attempt + 1, claimed_at = NOW(6)${startedSet}${stamp.sql}
        WHERE id IN (${placeholders(ids.length)})`,
      [
        request.schedulerId,
        ...(started.length > 0 ? [...started, ...started, request.version] : []),
        ...stamp.values,
        ...ids,
      ],
    );
    return picked.map((row, index) => {
      const isStarted = index < started.length;
      return taskFromRow({
        ...row,
        state: 'running',
        scheduler_id: request.schedulerId,
        attempt: Number(row.attempt) + 1,
        claimed_at: row.claim_now,
        updated_at: row.claim_now,
        started_at: isStarted ? row.claim_now : null,
        ran_version: isStarted ? request.version : null,
      });
    });
  }, options);
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
