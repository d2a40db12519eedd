/**
 * What the dashboard's webview and the extension say to each other (postMessage, JSON). Shared by
 * both sides, so it imports nothing: the webview is built for the browser, without Node's types.
 */

export type DashboardWindow = { window: 'hour' | 'day'; bucketMinutes: number };

/** The states a task ends in, in the order the charts stack them. */
export const ENDED_STATE_ORDER = ['succeeded', 'failed', 'aborted', 'lost', 'expired', 'skipped'] as const;
export type EndedStateName = (typeof ENDED_STATE_ORDER)[number];

export interface DashboardData extends DashboardWindow {
  /** The database clock, epoch ms. */
  now: number;
  /** Oldest first: epoch ms of each bucket's start and the tasks that ended in it, by state. */
  buckets: { start: number; ended: Record<EndedStateName, number> }[];
  queue: { pending: number; running: number };
  tasks: {
    /** `task · application`. */
    label: string;
    ended: number;
    failed: number;
    lost: number;
    failureRate: number;
    wait: { p50Ms: number; p95Ms: number } | null;
    run: { p50Ms: number; p95Ms: number } | null;
  }[];
  schedulers: { label: string; running: number; concurrency: number; heartbeatAgeSeconds: number }[];
}

export type ToWebview =
  | { type: 'statistics'; data: DashboardData }
  /** The database cannot be read: the page says why, and that it retries. */
  | { type: 'unavailable'; message: string; window: DashboardWindow };

/** What the page shows after a message, read back from its charts and its banner (tests, and a round trip's proof). */
export type RenderedSummary =
  | {
      kind: 'statistics';
      window: DashboardWindow;
      /** Sum of the ended chart's bars, by state. */
      ended: Record<EndedStateName, number>;
      queue: { pending: number; running: number };
      /** The task labels on the timing and failure charts. */
      taskLabels: string[];
      schedulerLabels: string[];
      charts: number;
    }
  | { kind: 'unavailable'; message: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'choose'; window: DashboardWindow }
  | { type: 'rendered'; summary: RenderedSummary };
