import type { Task } from '../task';
import type { Database, TransactionOptions } from './connection';
import { placeholders, serialiseError, SUMMARY_COLUMNS, taskFromRow } from './taskRows';

export interface ClaimRequest {
  schedulerId: string;
  application: string;
  /** The version this scheduler runs: tasks pinned to another version are left for others. */
  version: string;
  limit: number;
  /** This scheduler's own heartbeat must be younger than this for it to claim at all. */
  heartbeatTimeoutMs: number;
  /**
   * How many of the claimed tasks (the first, in claim order) the scheduler starts at once: they
   * get their started mark (docs/design.md, step 2) in the claim itself. The others are claimed ahead
   * and marked when a slot takes them. Default 0.
   */
  startNow?: number;
}

/**
 * The tasks (alias `t`) a scheduler may claim for one application, given the SQL for the
 * application, version and scheduler id: `?` placeholders here, the parameters of the stored wait
 * procedure there (migrations.ts), so the wait and the claim cannot disagree about what is
 * claimable.
 */
export function claimableCondition(application: string, version: string, schedulerId: string): string {
  return `t.state = 'pending' AND t.application = ${application}
          AND (t.version IS NULL OR t.version = ${version})
          AND (t.debug_scheduler_id IS NULL OR t.debug_scheduler_id = ${schedulerId})
          AND t.run_after <= NOW(6)
          AND (t.start_before IS NULL OR t.start_before > NOW(6))`;
}

/** Values: application, version, scheduler id. */
const CLAIMABLE = claimableCondition('?', '?', '?');

const PICKED_COLUMNS = SUMMARY_COLUMNS.split(', ')
  .map((column) => `t.${column}`)
  .join(', ');

/**
 * Whether `claimTasks` would find anything: one indexed read, no transaction, no lock. An idle
 * scheduler polls with this (a single statement) instead of a five-statement claim
 * transaction, which is what keeps an idle scheduler under 5 queries a second.
 */
export async function hasClaimableTask(
  db: Database,
  request: Omit<ClaimRequest, 'limit' | 'heartbeatTimeoutMs'>,
): Promise<boolean> {
  const rows = await db.select(
    `SELECT 1 AS found FROM \`${db.tables.task}\` t WHERE ${CLAIMABLE} ORDER BY t.priority, t.id LIMIT 1`,
    [request.application, request.version, request.schedulerId],
  );
  return rows.length > 0;
}

/**
 * Claims up to `limit` runnable tasks of one application for one scheduler. This is the only path
 * that makes a task `running`.
 *
 * Why it looks like this:
 *
 * - One transaction, two statements. The SELECT … FOR UPDATE SKIP LOCKED picks rows no other
 *   claimer holds; the UPDATE stamps them with our scheduler id before COMMIT releases the locks.
 *   Two schedulers therefore never get the same row, and neither waits for the other: with plain
 *   FOR UPDATE, eight schedulers polling one queue would queue up behind the first one's locks and
 *   claim one after another; with SKIP LOCKED each takes the next free rows at once. (The race
 *   test runs 2,000 tasks through several scheduler processes with 0 duplicates.)
 *
 * - The pick joins our own scheduler row, which FOR UPDATE locks with the tasks, and requires its
 *   heartbeat to be fresh. A sweeper deletes a dead scheduler's row under FOR UPDATE SKIP LOCKED
 *   in the same transaction that requeues or loses its tasks. So either the sweeper is first (our
 *   row is gone or locked: SKIP LOCKED skips it, the join is empty, we claim nothing, and our
 *   heartbeat finds out we were fenced) or we are (the sweeper skips our row this round). Without
 *   it, a paused scheduler waking up after being swept could claim tasks under an id no sweeper
 *   will ever look at again, and those tasks would hang in `running`. A stale but not yet swept
 *   row (right after a database outage) claims nothing either: heartbeat first, claim later.
 *   Checked on MariaDB: with the row locked by a sweeper the pick returns at once, empty.
 *
 * - Eligibility is decided on the database clock, in the claim itself: `run_after <= NOW(6)` and
 *   `start_before > NOW(6)`. An expired task is never started even if no sweeper marked it.
 *
 * - ORDER BY priority, id over the index (state, application, priority, id): the equality on
 *   state and application leaves the index already in claim order, so the scan stops after
 *   `limit` free rows instead of sorting every pending row. Rows not yet due (`run_after`) or
 *   pinned to another version are skipped by the scan; a queue dominated by delayed tasks costs
 *   more, which is why the scan is bounded by the index range, not the table.
 *
 * - A task being debugged names the one scheduler (the VS Code window) that may run it.
 *
 * - LIMIT is bound as a string: MySQL 8 rejects a prepared LIMIT sent as a double, which is how
 *   the driver sends JavaScript numbers; MariaDB accepts both.
 *
 * - `limit` is the scheduler's free slots: a batch claim costs one round trip for n tasks
 *   instead of n, which matters when tasks are short.
 *
 * - The tasks the scheduler starts at once (`startNow`) get their started mark in the stamp: the
 *   commit that makes them ours also says user code may run, and the runner is handed them as
 *   soon as it returns. A crash before that commit leaves them pending; after it, `lost`, just as
 *   after a separate mark, which only added a round trip and a commit in between (1 of the 5 round
 *   trips before a free slot's task starts). Tasks claimed ahead of a free slot are not marked
 *   here: they may wait, and a scheduler that dies meanwhile must leave them to be requeued.
 *
 * - Four round trips (BEGIN, pick, stamp, COMMIT), as many as the bare one-row SKIP LOCKED loop:
 *   the pick checks our row, reads the whole task rows and the database clock, and the tasks we
 *   return are those rows as stamped, so nothing is read back. Measured against that bare loop in
 *   bench/RESULTS.md (1, 4 and 8 claimers, and batches of 10).
 *
 * - Tried and measured, not kept (one scheduler, 8 pooled slots, 5,000 no-op tasks, MariaDB
 *   10.11, 2 cores, about 1,250 tasks/s either way): the same transaction inside a stored
 *   procedure, one CALL instead of four round trips, cut statements sent per task from 1.72 to
 *   0.95 but cost the server 25 % more CPU per task (cursor, JSON id list), for no gain in
 *   tasks/s; and claiming only once 6 of 8 slots were free (batches of 6 instead of 3.7) cut
 *   them to 1.50, also for no gain. The server's CPU per task (about 0.4 ms) follows the row
 *   changes (claim, started mark, outcome), not the statements that carry them. A claim on
 *   connections with autocommit off (no BEGIN: three round trips) took 2.3 ms instead of 2.5
 *   under that load, for 4 % more tasks/s, within the noise of two runs: not worth a second pool.
 */
export async function claimTasks(
  db: Database,
  request: ClaimRequest,
  options: Pick<TransactionOptions, 'onConflict'> = {},
): Promise<Task[]> {
  if (request.limit <= 0) return [];
  const t = db.tables;
  return db.transaction(async (tx) => {
    const picked = await tx.select(
      `SELECT ${PICKED_COLUMNS}, NOW(6) AS claim_now
         FROM \`${t.task}\` t
         JOIN \`${t.scheduler}\` s ON s.id = ? AND s.heartbeat_at > NOW(6) - INTERVAL ? MICROSECOND
        WHERE ${CLAIMABLE}
        ORDER BY t.priority, t.id
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [
        request.schedulerId,
        request.heartbeatTimeoutMs * 1000,
        request.application,
        request.version,
        request.schedulerId,
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
    await tx.write(
      `UPDATE \`${t.task}\`
          SET state = 'running', scheduler_id = ?, attempt = attempt + 1, claimed_at = NOW(6), updated_at = NOW(6)${startedSet}
        WHERE id IN (${placeholders(ids.length)})`,
      [request.schedulerId, ...(started.length > 0 ? [...started, ...started, request.version] : []), ...ids],
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

/**
 * Undoes our claim of tasks that never started (see ClaimedAhead): back to `pending` with the
 * attempt our claim counted taken back, for any scheduler to claim. Fenced like every write about
 * a running task, and only while `started_at` is unset, so a started task can never be requeued.
 * Returns how many were released.
 */
export async function releaseClaimedTasks(db: Database, ids: string[], schedulerId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.write(
    `UPDATE \`${db.tables.task}\`
        SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1, claimed_at = NULL, updated_at = NOW(6)
      WHERE id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running' AND started_at IS NULL`,
    [...ids, schedulerId],
  );
  return result.affectedRows;
}

/**
 * Puts back tasks our claim made ours but this scheduler never handed to a runner (Scheduler's
 * reconciliation, after a claim or release whose reply was lost): back to `pending` with the
 * attempt taken back, even when the claim marked them started, because this scheduler knows that
 * no code of theirs ran. One whose abort was asked meanwhile ends `aborted`, as a pending one
 * would. Fenced like every write about a running task. Returns how many were put back.
 */
export async function releaseStrayTasks(db: Database, ids: string[], schedulerId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const t = db.tables;
  const fenced = `id IN (${placeholders(ids.length)}) AND scheduler_id = ? AND state = 'running'`;
  const aborted = await db.write(
    `UPDATE \`${t.task}\` SET state = 'aborted', error = ?, active_key = NULL, ended_at = NOW(6), updated_at = NOW(6)
      WHERE ${fenced} AND abort_requested_at IS NOT NULL`,
    [serialiseError({ name: 'TaskAborted', message: 'Aborted before it started.' }), ...ids, schedulerId],
  );
  const requeued = await db.write(
    `UPDATE \`${t.task}\`
        SET state = 'pending', scheduler_id = NULL, attempt = attempt - 1, claimed_at = NULL, started_at = NULL, ran_version = NULL, updated_at = NOW(6)
      WHERE ${fenced}`,
    [...ids, schedulerId],
  );
  return aborted.affectedRows + requeued.affectedRows;
}
