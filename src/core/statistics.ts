import type { Database } from './database/connection';
import {
  BINS_PER_DOUBLING,
  type EndedAggregates,
  type EndedState,
  readEndedAggregates,
  readQueueDepth,
  readSchedulerLoad,
  readStatisticsClock,
  type SchedulerLoad,
} from './database/taskStatistics';
import { InvalidInputError } from './errors';
import { ENDED_STATES } from './task';

export type { EndedState, SchedulerLoad } from './database/taskStatistics';

export type StatisticsWindow = 'hour' | 'day';

/** The bucket sizes each window offers, in minutes; the first is the default. */
export const STATISTICS_BUCKETS: Record<StatisticsWindow, readonly number[]> = { hour: [1], day: [15, 30] };
const WINDOW_MINUTES: Record<StatisticsWindow, number> = { hour: 60, day: 24 * 60 };
/** The task names reported: those with the most ended tasks in the window. */
const MAX_TASK_NAMES = 20;

export interface StatisticsOptions {
  /** Default 'hour'. */
  window?: StatisticsWindow;
  /** One of STATISTICS_BUCKETS[window]; default its first. */
  bucketMinutes?: number;
}

export interface DurationSummary {
  p50Ms: number;
  p95Ms: number;
}

export interface TaskNameStatistics {
  application: string;
  task: string;
  /** Tasks of this name that ended in the window. */
  ended: number;
  byState: Record<EndedState, number>;
  /** (failed + lost) ÷ ended: aborted and expired tasks were stopped, not broken. */
  failureRate: number;
  /** Run after (or created, if later) → started, of the ended tasks that started; null if none did. */
  wait: DurationSummary | null;
  /** Started → ended. */
  run: DurationSummary | null;
}

export interface TaskStatistics {
  window: StatisticsWindow;
  bucketMinutes: number;
  /** The database clock when the window was read. */
  now: Date;
  /** Oldest first; every bucket of the window, empty ones too, the last one still filling. */
  buckets: { start: Date; ended: Record<EndedState, number> }[];
  queue: { pending: number; running: number };
  /** Most ended first, at most 20. */
  tasks: TaskNameStatistics[];
  schedulers: SchedulerLoad[];
}

export function validStatisticsOptions(options?: StatisticsOptions | null): {
  window: StatisticsWindow;
  bucketMinutes: number;
} {
  if (options !== undefined && options !== null && typeof options !== 'object') {
    throw new InvalidInputError(
      `The statistics options must be an object like { window: "day", bucketMinutes: 15 }, got ${JSON.stringify(options)}.`,
    );
  }
  const window = options?.window ?? 'hour';
  if (!Object.hasOwn(STATISTICS_BUCKETS, window)) {
    throw new InvalidInputError(`The statistics window must be "hour" or "day", got ${JSON.stringify(window)}.`);
  }
  const allowed = STATISTICS_BUCKETS[window];
  const bucketMinutes = options?.bucketMinutes ?? allowed[0];
  if (!allowed.includes(bucketMinutes)) {
    const got = typeof bucketMinutes === 'string' ? JSON.stringify(bucketMinutes) : String(bucketMinutes);
    throw new InvalidInputError(
      `Buckets of the last ${window} can be ${allowed.map((minutes) => `${minutes} min`).join(' or ')}; got ${got}.`,
    );
  }
  return { window, bucketMinutes };
}

/** What was read of a window's settled buckets, kept until the window moves on by a bucket. */
interface SettledPart {
  since: number;
  settled: number;
  aggregates: EndedAggregates;
}

/**
 * Reads statistics, re-reading only what can still change. The window's settled buckets (closed
 * over a minute ago) are read once per window position and kept; each later read fetches only
 * the rows that ended since, so a dashboard refreshing every few seconds reads a bucket's worth
 * of rows, not the day's. The window moves on, and everything is read again, once per bucket.
 * A task deleted or purged meanwhile stays counted until then.
 */
export class StatisticsReader {
  private readonly settledParts = new Map<number, SettledPart>();

  constructor(private readonly db: Database) {}

  async read(options: StatisticsOptions = {}): Promise<TaskStatistics> {
    const { window, bucketMinutes } = validStatisticsOptions(options);
    const bucketSeconds = bucketMinutes * 60;
    const count = WINDOW_MINUTES[window] / bucketMinutes;
    const clock = await readStatisticsClock(this.db, bucketSeconds, count);
    let part = this.settledParts.get(bucketSeconds);
    if (!part || part.since !== clock.since) {
      const settled = Math.max(clock.since, clock.settled);
      part = {
        since: clock.since,
        settled,
        aggregates: await readEndedAggregates(this.db, {
          since: clock.since,
          bucketSeconds,
          from: clock.since,
          until: settled,
        }),
      };
      this.settledParts.set(bucketSeconds, part);
    }
    const recent = await readEndedAggregates(this.db, { since: clock.since, bucketSeconds, from: part.settled });
    const queue = await readQueueDepth(this.db);
    const schedulers = await readSchedulerLoad(this.db);
    return {
      window,
      bucketMinutes,
      now: clock.now,
      ...summarise([part.aggregates, recent], clock.since, bucketSeconds, count),
      queue,
      schedulers,
    };
  }
}

function summarise(
  parts: EndedAggregates[],
  since: number,
  bucketSeconds: number,
  count: number,
): Pick<TaskStatistics, 'buckets' | 'tasks'> {
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date((since + i * bucketSeconds) * 1000),
    ended: endedCounts(),
  }));
  const names = new Map<string, TaskNameStatistics>();
  const histograms = new Map<string, Map<number, number>>();
  for (const part of parts) {
    for (const row of part.ended) {
      // A task that ended after the clock was read, in a bucket past the window, waits for the next read.
      const bucket = buckets[row.bucket];
      if (!bucket) continue;
      bucket.ended[row.state] += row.n;
      const key = JSON.stringify([row.application, row.task]);
      let entry = names.get(key);
      if (!entry) {
        entry = {
          application: row.application,
          task: row.task,
          ended: 0,
          byState: endedCounts(),
          failureRate: 0,
          wait: null,
          run: null,
        };
        names.set(key, entry);
      }
      entry.byState[row.state] += row.n;
      entry.ended += row.n;
    }
    for (const row of part.histograms) {
      const key = JSON.stringify([row.application, row.task, row.kind]);
      const histogram = histograms.get(key) ?? new Map<number, number>();
      histogram.set(row.bin, (histogram.get(row.bin) ?? 0) + row.n);
      histograms.set(key, histogram);
    }
  }
  const tasks = [...names.values()]
    .sort((a, b) => b.ended - a.ended || a.task.localeCompare(b.task))
    .slice(0, MAX_TASK_NAMES);
  for (const entry of tasks) {
    entry.failureRate = entry.ended === 0 ? 0 : (entry.byState.failed + entry.byState.lost) / entry.ended;
    entry.wait = durationSummary(histograms.get(JSON.stringify([entry.application, entry.task, 'wait'])));
    entry.run = durationSummary(histograms.get(JSON.stringify([entry.application, entry.task, 'run'])));
  }
  return { buckets, tasks };
}

function endedCounts(): Record<EndedState, number> {
  return Object.fromEntries(ENDED_STATES.map((state) => [state, 0])) as Record<EndedState, number>;
}

function durationSummary(histogram: Map<number, number> | undefined): DurationSummary | null {
  if (!histogram) return null;
  return { p50Ms: percentileMs(histogram, 0.5), p95Ms: percentileMs(histogram, 0.95) };
}

/** The bin holding the value of rank ceil(p·n), as the bin's geometric middle, in milliseconds. */
export function percentileMs(histogram: Map<number, number>, p: number): number {
  const bins = [...histogram.entries()].sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [bin, n] of bins) {
    seen += n;
    if (seen >= rank) return 2 ** ((bin + 0.5) / BINS_PER_DOUBLING) / 1000;
  }
  return NaN;
}
