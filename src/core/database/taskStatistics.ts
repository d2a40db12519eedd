import type { TaskState } from '../task';
import type { Database } from './connection';

/**
 * The dashboard's aggregates, computed by the server: GROUP BY in SQL, bounded results whatever
 * the table holds (statistics.ts merges and reads them).
 *
 * Input: bucket size and count; a range of ended_at as whole epoch seconds, read from the
 * database clock by readStatisticsClock and bound as such (exact), so that every statement of one
 * read sees the same buckets.
 * Output: ended tasks per bucket, application, task name and state, and histograms of their wait
 * and run times; the queue now; running tasks per registered scheduler.
 * Guarantee: time is the database's (NOW(6)); the window statements are range scans of the
 * `by_ended_stats` index alone (migration 5), never of the table.
 *
 * Percentiles come from a histogram the server builds (GROUP BY a logarithmic bin of the
 * duration, 8 bins per doubling) rather than from ORDER BY with window functions: the server then
 * neither sorts nor buffers the window's rows (a day can hold millions), the result stays a few
 * dozen rows per task name, histograms of two ranges add up, and the same SQL runs on MySQL 8 and
 * MariaDB (MySQL has no PERCENTILE_CONT). The price: a value is known to within 4.5 %.
 */

export type EndedState = Exclude<TaskState, 'pending' | 'running'>;
export const BINS_PER_DOUBLING = 8;

export interface StatisticsClock {
  now: Date;
  /** The window's first second: `count` whole buckets, the last one holding now. */
  since: number;
  /**
   * Buckets before this second closed over a minute ago: a statement that ended a task in them
   * has committed (or failed) by now, so what they hold no longer changes, but for deletions.
   */
  settled: number;
}

export interface EndedAggregates {
  /** Ended tasks per bucket (counted from the window's first, 0), application, task name and state. */
  ended: { bucket: number; application: string; task: string; state: EndedState; n: number }[];
  /** Bin b holds durations of 2^(b/8) to 2^((b+1)/8) microseconds (under 1 µs: bin 0). */
  histograms: { application: string; task: string; kind: 'wait' | 'run'; bin: number; n: number }[];
}

export interface SchedulerLoad {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  /** Tasks in state running under this scheduler (claimed ahead ones included). */
  running: number;
  heartbeatAgeSeconds: number;
}

/** A statement that ended a task commits within its deadline; a minute is well past any. */
const SETTLE_SECONDS = 60;

export async function readStatisticsClock(
  db: Database,
  bucketSeconds: number,
  count: number,
): Promise<StatisticsClock> {
  const [row] = await db.select<{ now: Date; since: string; settled: string }>(
    `SELECT NOW(6) AS now, (FLOOR(UNIX_TIMESTAMP(NOW(6)) / ?) - ?) * ? AS since, FLOOR((UNIX_TIMESTAMP(NOW(6)) - ?) / ?) * ? AS settled`,
    [bucketSeconds, count - 1, bucketSeconds, SETTLE_SECONDS, bucketSeconds, bucketSeconds],
  );
  return { now: row.now, since: Number(row.since), settled: Number(row.settled) };
}

/**
 * Tasks with `from` <= ended_at (< `until`, when given), bucketed from `since`: two statements
 * (three passes over the range: the counts, the wait and the run histograms), one after the
 * other, not at once: the pool is shared with a scheduler's claims.
 */
export async function readEndedAggregates(
  db: Database,
  range: { since: number; bucketSeconds: number; from: number; until?: number },
): Promise<EndedAggregates> {
  const t = db.tables.task;
  const where =
    range.until === undefined
      ? 'ended_at >= FROM_UNIXTIME(?)'
      : 'ended_at >= FROM_UNIXTIME(?) AND ended_at < FROM_UNIXTIME(?)';
  const bounds = range.until === undefined ? [range.from] : [range.from, range.until];
  // ORDER BY NULL: MariaDB would otherwise sort the groups.
  const ended = await db.select<{ bucket: string; application: string; task: string; state: EndedState; n: string }>(
    `SELECT FLOOR((UNIX_TIMESTAMP(ended_at) - ?) / ?) AS bucket, application, task, state, COUNT(*) AS n
       FROM \`${t}\` WHERE ${where} GROUP BY bucket, application, task, state ORDER BY NULL`,
    [range.since, range.bucketSeconds, ...bounds],
  );
  const histograms = await db.select<{
    application: string;
    task: string;
    kind: 'wait' | 'run';
    bin: string;
    n: string;
  }>(
    `SELECT application, task, 'wait' AS kind, FLOOR(LOG2(GREATEST(TIMESTAMPDIFF(MICROSECOND, GREATEST(run_after, created_at), started_at), 1)) * ?) AS bin, COUNT(*) AS n
       FROM \`${t}\` WHERE ${where} AND started_at IS NOT NULL GROUP BY application, task, bin
     UNION ALL
     SELECT application, task, 'run' AS kind, FLOOR(LOG2(GREATEST(TIMESTAMPDIFF(MICROSECOND, started_at, ended_at), 1)) * ?) AS bin, COUNT(*) AS n
       FROM \`${t}\` WHERE ${where} AND started_at IS NOT NULL GROUP BY application, task, bin`,
    [BINS_PER_DOUBLING, ...bounds, BINS_PER_DOUBLING, ...bounds],
  );
  return {
    ended: ended.map((row) => ({
      bucket: Number(row.bucket),
      application: row.application,
      task: row.task,
      state: row.state,
      n: Number(row.n),
    })),
    histograms: histograms.map((row) => ({
      application: row.application,
      task: row.task,
      kind: row.kind,
      bin: Number(row.bin),
      n: Number(row.n),
    })),
  };
}

/** Pending and running tasks now. */
export async function readQueueDepth(db: Database): Promise<{ pending: number; running: number }> {
  const rows = await db.select<{ state: 'pending' | 'running'; n: string }>(
    `SELECT state, COUNT(*) AS n FROM \`${db.tables.task}\` WHERE state IN ('pending', 'running') GROUP BY state`,
  );
  const queue = { pending: 0, running: 0 };
  for (const row of rows) queue[row.state] = Number(row.n);
  return queue;
}

export async function readSchedulerLoad(db: Database): Promise<SchedulerLoad[]> {
  const rows = await db.select<{
    id: string;
    host: string;
    pid: number;
    concurrency: number;
    running: string;
    heartbeat_age: string;
  }>(
    `SELECT s.id, s.host, s.pid, s.concurrency,
            (SELECT COUNT(*) FROM \`${db.tables.task}\` r WHERE r.scheduler_id = s.id AND r.state = 'running') AS running,
            TIMESTAMPDIFF(MICROSECOND, s.heartbeat_at, NOW(6)) / 1000000 AS heartbeat_age
       FROM \`${db.tables.scheduler}\` s ORDER BY s.id`,
  );
  return rows.map((row) => ({
    id: String(row.id),
    host: row.host,
    pid: Number(row.pid),
    concurrency: Number(row.concurrency),
    running: Number(row.running),
    heartbeatAgeSeconds: Number(row.heartbeat_age),
  }));
}
