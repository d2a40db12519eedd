import type { TaskState } from '../task';
import type { Database } from './connection';
import { placeholders } from './taskRows';

/**
 * Counts and times of tasks, for metrics and `taskman stats`. Reads only, no locks; each query
 * runs over an index (claim_order for the queue, by_ended for a window). Times are the database's
 * own timestamps and NOW(6): no host clock is involved.
 */

export interface QueueDepth {
  application: string;
  state: 'pending' | 'running';
  count: number;
}

/**
 * Pending and running tasks by application and state: of `applications` (each with both states,
 * 0 when it has none), or of every application that has some when none are given.
 */
export async function queueDepth(db: Database, applications?: string[]): Promise<QueueDepth[]> {
  const only = applications !== undefined;
  if (only && applications.length === 0) return [];
  const rows = await db.select<{ application: string; state: 'pending' | 'running'; n: number }>(
    `SELECT application, state, COUNT(*) AS n FROM \`${db.tables.task}\`
      WHERE state IN ('pending', 'running')${only ? ` AND application IN (${placeholders(applications.length)})` : ''}
      GROUP BY state, application`,
    only ? applications : [],
  );
  const counts = new Map<string, QueueDepth>();
  for (const application of applications ?? []) {
    for (const state of ['pending', 'running'] as const)
      counts.set(`${application}\0${state}`, { application, state, count: 0 });
  }
  for (const row of rows)
    counts.set(`${row.application}\0${row.state}`, {
      application: row.application,
      state: row.state,
      count: Number(row.n),
    });
  return [...counts.values()].sort(
    (a, b) => a.application.localeCompare(b.application) || a.state.localeCompare(b.state),
  );
}

/** A window of time that ends now, on the database clock. */
export interface StatsWindow {
  since: Date;
  until: Date;
}

export async function windowEndingNow(db: Database, lengthMs: number): Promise<StatsWindow> {
  const [row] = await db.select<{ since: Date; until: Date }>(
    'SELECT NOW(6) - INTERVAL ? MICROSECOND AS since, NOW(6) AS `until`',
    [Math.round(lengthMs * 1000)],
  );
  return { since: row.since, until: row.until };
}

export interface EndedCount {
  application: string;
  task: string;
  state: TaskState;
  count: number;
}

/** Tasks that ended in the window (`ended_at` from `since` on), by application, task and state. */
export async function endedCounts(db: Database, window: StatsWindow): Promise<EndedCount[]> {
  const rows = await db.select<{ application: string; task: string; state: TaskState; n: number }>(
    `SELECT application, task, state, COUNT(*) AS n FROM \`${db.tables.task}\`
      WHERE ended_at >= ? AND ended_at <= ?
      GROUP BY application, task, state
      ORDER BY application, task, state`,
    [window.since, window.until],
  );
  return rows.map((row) => ({ application: row.application, task: row.task, state: row.state, count: Number(row.n) }));
}

export interface EndedTiming {
  application: string;
  task: string;
  state: TaskState;
  /** From `created_at` (or `run_after`, if later) to `started_at`. */
  waitMs: number;
  /** From `started_at` to `ended_at`. */
  runMs: number;
}

/** The wait and run times of the `limit` tasks that ended last in the window, of those that started. */
export async function recentEndedTimings(db: Database, window: StatsWindow, limit: number): Promise<EndedTiming[]> {
  const rows = await db.select<{
    application: string;
    task: string;
    state: TaskState;
    wait_us: number;
    run_us: number;
  }>(
    `SELECT application, task, state,
            TIMESTAMPDIFF(MICROSECOND, GREATEST(created_at, run_after), started_at) AS wait_us,
            TIMESTAMPDIFF(MICROSECOND, started_at, ended_at) AS run_us
       FROM \`${db.tables.task}\`
      WHERE ended_at >= ? AND ended_at <= ? AND started_at IS NOT NULL
      ORDER BY ended_at DESC
      LIMIT ?`,
    [window.since, window.until, String(limit)],
  );
  return rows.map((row) => ({
    application: row.application,
    task: row.task,
    state: row.state,
    waitMs: Math.max(0, Number(row.wait_us) / 1000),
    runMs: Math.max(0, Number(row.run_us) / 1000),
  }));
}
