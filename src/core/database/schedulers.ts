import type { Database } from './connection';
import type { StatementOptions } from './queryable';
import { settleSchedulerTasks } from './lifecycle';
import { placeholders } from './taskRows';

/**
 * Scheduler liveness: one row per scheduler process, one heartbeat per scheduler (not per task).
 * A scheduler whose heartbeat is older than the timeout, on the database clock, is dead.
 */

export interface SchedulerRegistration {
  host: string;
  pid: number;
  applications: { name: string; version: string }[];
  concurrency: number;
}

export interface SchedulerInfo extends SchedulerRegistration {
  id: string;
  running: number;
  startedAt: Date;
  heartbeatAt: Date;
  /** Seconds since the last heartbeat, on the database clock. */
  heartbeatAgeSeconds: number;
  /** The concurrency keys its running tasks hold (`application/key`), sorted. */
  heldKeys: string[];
}

export async function registerScheduler(db: Database, registration: SchedulerRegistration): Promise<string> {
  const result = await db.write(
    `INSERT INTO \`${db.tables.scheduler}\` (host, pid, applications, concurrency, running, started_at, heartbeat_at)
     VALUES (?, ?, ?, ?, 0, NOW(6), NOW(6))`,
    [
      registration.host.slice(0, 255),
      registration.pid,
      JSON.stringify(registration.applications),
      registration.concurrency,
    ],
  );
  return String(result.insertId);
}

/** False when our row is gone: another scheduler declared us dead. */
export async function heartbeat(
  db: Database,
  schedulerId: string,
  running: number,
  applications?: SchedulerRegistration['applications'],
  options?: StatementOptions,
): Promise<boolean> {
  const result = applications
    ? await db.write(
        `UPDATE \`${db.tables.scheduler}\` SET heartbeat_at = NOW(6), running = ?, applications = ? WHERE id = ?`,
        [running, JSON.stringify(applications), schedulerId],
        options,
      )
    : await db.write(
        `UPDATE \`${db.tables.scheduler}\` SET heartbeat_at = NOW(6), running = ? WHERE id = ?`,
        [running, schedulerId],
        options,
      );
  return result.affectedRows === 1;
}

export interface SweepResult {
  schedulers: string[];
  /** Claimed but never started: back to pending, no user code ran. */
  requeued: number;
  /** Started: may have run in part; never re-run automatically. */
  lost: number;
  /** Started, but idempotent with attempts left: back to pending for the next attempt. */
  retried: number;
}

/**
 * Removes schedulers whose heartbeat is older than `timeoutMs` and settles their tasks. Rows are
 * taken FOR UPDATE SKIP LOCKED, so two live sweepers never act on the same dead scheduler, and a
 * scheduler in the middle of a claim (which holds its own row) is never swept under its feet.
 * A sweeper never sweeps itself: after an outage its own heartbeat is stale too, but it is alive.
 */
export async function sweepDeadSchedulers(db: Database, sweeperId: string, timeoutMs: number): Promise<SweepResult> {
  const t = db.tables;
  return db.transaction(async (tx) => {
    const dead = await tx.select<{ id: string; host: string; pid: number }>(
      `SELECT id, host, pid FROM \`${t.scheduler}\` WHERE heartbeat_at < NOW(6) - INTERVAL ? MICROSECOND AND id <> ?
        ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED`,
      [timeoutMs * 1000, sweeperId],
    );
    if (dead.length === 0) return { schedulers: [], requeued: 0, lost: 0, retried: 0 };
    const reason = (row: { id: string; host: string; pid: number }) =>
      `scheduler ${row.id} (${row.host} pid ${row.pid}) stopped heartbeating for over ${Math.round(timeoutMs / 1000)}s`;
    const result: SweepResult = { schedulers: dead.map((row) => String(row.id)), requeued: 0, lost: 0, retried: 0 };
    for (const row of dead) addSettled(result, await settleSchedulerTasks(tx, t, String(row.id), reason(row)));
    const ids = result.schedulers;
    // By primary key, never a scan, which would wait for the rows live schedulers lock in their claims.
    await tx.write(
      `DELETE s FROM \`${t.scheduler}\` AS s FORCE INDEX (PRIMARY) WHERE s.id IN (${placeholders(ids.length)})`,
      ids,
    );
    return result;
  });
}

function addSettled(result: SweepResult, settled: Omit<SweepResult, 'schedulers'>): void {
  result.requeued += settled.requeued;
  result.lost += settled.lost;
  result.retried += settled.retried;
}

/**
 * Settles running tasks whose scheduler row is gone. The claim's join on its own row fences it
 * against a sweep on one server; on a Galera cluster row locks are local to a node, so a claim on
 * one node and the sweep of the same scheduler on another can both commit, and the claim's tasks
 * would hang under a deleted id. Such an orphan is settled like a dead scheduler's task (its
 * scheduler, if alive, finds itself fenced at its next heartbeat and stops the runners). A row
 * deleted once never comes back (ids are never reused), so an orphan stays one: the unlocked look
 * cannot mistake a live scheduler's task.
 */
export async function settleOrphanedTasks(db: Database): Promise<SweepResult> {
  const t = db.tables;
  const rows = await db.select<{ scheduler_id: string }>(
    `SELECT DISTINCT t.scheduler_id FROM \`${t.task}\` t
      WHERE t.state = 'running' AND NOT EXISTS (SELECT 1 FROM \`${t.scheduler}\` s WHERE s.id = t.scheduler_id) LIMIT 20`,
  );
  const result: SweepResult = { schedulers: [], requeued: 0, lost: 0, retried: 0 };
  for (const row of rows) {
    const id = String(row.scheduler_id);
    addSettled(
      result,
      await db.transaction((tx) => settleSchedulerTasks(tx, t, id, `scheduler ${id} was declared dead`)),
    );
    result.schedulers.push(id);
  }
  return result;
}

/** A scheduler leaving on purpose: its remaining tasks are settled like a dead one's. */
export async function deregisterScheduler(db: Database, schedulerId: string, reason: string): Promise<SweepResult> {
  const t = db.tables;
  return db.transaction(async (tx) => {
    const mine = await tx.select(`SELECT id FROM \`${t.scheduler}\` WHERE id = ? FOR UPDATE`, [schedulerId]);
    if (mine.length === 0) return { schedulers: [], requeued: 0, lost: 0, retried: 0 };
    const settled = await settleSchedulerTasks(tx, t, schedulerId, reason);
    await tx.write(`DELETE FROM \`${t.scheduler}\` WHERE id = ?`, [schedulerId]);
    return { schedulers: [schedulerId], ...settled };
  });
}

export async function listSchedulers(db: Database): Promise<SchedulerInfo[]> {
  const rows = await db.select(
    `SELECT id, host, pid, applications, concurrency, running, started_at, heartbeat_at,
            TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(6)) / 1000000 AS heartbeat_age
       FROM \`${db.tables.scheduler}\` ORDER BY id`,
  );
  // One read for every scheduler: the keys held now, by the tasks each one runs.
  const held = await db.select<{ scheduler_id: string; application: string; concurrency_key: string }>(
    `SELECT DISTINCT scheduler_id, application, concurrency_key FROM \`${db.tables.task}\`
      WHERE state = 'running' AND concurrency_key IS NOT NULL ORDER BY application, concurrency_key`,
  );
  const keysOf = new Map<string, string[]>();
  for (const row of held) {
    const keys = keysOf.get(String(row.scheduler_id)) ?? [];
    keys.push(`${row.application}/${row.concurrency_key}`);
    keysOf.set(String(row.scheduler_id), keys);
  }
  return rows.map((row) => ({
    id: String(row.id),
    host: row.host as string,
    pid: Number(row.pid),
    applications: parseApplications(row.applications),
    concurrency: Number(row.concurrency),
    running: Number(row.running),
    startedAt: row.started_at as Date,
    heartbeatAt: row.heartbeat_at as Date,
    heartbeatAgeSeconds: Number(row.heartbeat_age),
    heldKeys: keysOf.get(String(row.id)) ?? [],
  }));
}

function parseApplications(text: unknown): SchedulerRegistration['applications'] {
  try {
    const parsed = JSON.parse(String(text));
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
