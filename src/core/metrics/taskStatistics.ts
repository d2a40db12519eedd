import type { Database } from '../database/connection';
import {
  endedCounts,
  queueDepth,
  type QueueDepth,
  recentEndedTimings,
  type StatsWindow,
  windowEndingNow,
} from '../database/taskStats';
import type { TaskState } from '../task';

/** Percentiles of a set of durations, in ms. */
export interface Percentiles {
  p50: number;
  p95: number;
}

export interface EndedStatistics {
  application: string;
  task: string;
  state: TaskState;
  /** Every task that ended so in the window. */
  count: number;
  /** Of those, how many the percentiles were taken from (started ones, within the sample). */
  timed: number;
  wait: Percentiles | undefined;
  run: Percentiles | undefined;
}

/** What `taskman stats` prints: the database's view, over all schedulers. */
export interface RecentTaskStatistics {
  window: StatsWindow;
  queue: QueueDepth[];
  ended: EndedStatistics[];
  /** The percentiles come from at most this many of the tasks that ended last in the window. */
  sampleLimit: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

/**
 * Queue depth now, and the tasks that ended in the last `windowMs` (database clock) by
 * application, task and state, with p50/p95 of their wait and run times from the `sampleLimit`
 * that ended last: counts are exact, percentiles are of that sample.
 */
export async function readRecentTaskStatistics(
  db: Database,
  options: { windowMs: number; sampleLimit?: number },
): Promise<RecentTaskStatistics> {
  const sampleLimit = options.sampleLimit ?? 10_000;
  const window = await windowEndingNow(db, options.windowMs);
  const [queue, counts, timings] = await Promise.all([
    queueDepth(db),
    endedCounts(db, window),
    recentEndedTimings(db, window, sampleLimit),
  ]);
  const key = (row: { application: string; task: string; state: TaskState }) =>
    `${row.application}\0${row.task}\0${row.state}`;
  const timingsOf = new Map<string, { waitMs: number[]; runMs: number[] }>();
  for (const timing of timings) {
    let times = timingsOf.get(key(timing));
    if (!times) {
      times = { waitMs: [], runMs: [] };
      timingsOf.set(key(timing), times);
    }
    times.waitMs.push(timing.waitMs);
    times.runMs.push(timing.runMs);
  }
  const ended = counts.map((row): EndedStatistics => {
    const times = timingsOf.get(key(row)) ?? { waitMs: [], runMs: [] };
    return { ...row, timed: times.waitMs.length, wait: percentiles(times.waitMs), run: percentiles(times.runMs) };
  });
  return { window, queue, ended, sampleLimit };
}
