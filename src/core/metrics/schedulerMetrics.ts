import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../database/connection';
import type { DatabaseErrorKind } from '../database/databaseErrors';
import { queueDepth, type QueueDepth } from '../database/taskStats';
import type { Scheduler } from '../scheduler/scheduler';
import type { SchedulerEvents } from '../scheduler/schedulerOptions';
import { CachedValue } from './cachedValue';

export interface SchedulerMetricsOptions {
  /** How long one reading of the queue depth serves scrapes (default 5 s): one query per interval however many scrape. */
  queueDepthMaxAgeMs?: number;
  /** Also prom-client's process and Node.js metrics (CPU, memory, event loop lag; default true). */
  processMetrics?: boolean;
}

/** Node's typed EventEmitter states its listeners in this form. */
type Listener<E extends keyof SchedulerEvents> = E extends keyof SchedulerEvents
  ? (...args: SchedulerEvents[E]) => void
  : never;

/** From 5 ms to 4 h: tasks range from short mails to long reports. */
const SECONDS_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14_400,
];
const DATABASE_ERROR_KINDS: DatabaseErrorKind[] = ['unavailable', 'conflict', 'tls', 'access', 'other'];

/**
 * One scheduler's metrics in a Prometheus registry: what this process did (counters and histograms
 * fed by the scheduler's events, slots read from it at each scrape) and the queue depth of its
 * applications, read from the database at most once per `queueDepthMaxAgeMs`. Counters start
 * at 0 when the process starts, as Prometheus expects of a counter.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    database: Database,
    options: SchedulerMetricsOptions = {},
  ) {
    const registers = [this.registry];
    const byTask = ['application', 'task'] as const;
    const ended = new Counter({
      name: 'taskman_tasks_ended_total',
      help: 'Tasks whose outcome this worker wrote, by final state (succeeded, failed, aborted)',
      labelNames: [...byTask, 'state'],
      registers,
    });
    const retried = new Counter({
      name: 'taskman_tasks_retried_total',
      help: 'Failed runs this worker put back for another attempt (retries in taskOptions or the submission)',
      labelNames: byTask,
      registers,
    });
    const wait = new Histogram({
      name: 'taskman_task_wait_seconds',
      help: 'From created_at (or run_after, if later) to the start, of the tasks this worker started',
      labelNames: byTask,
      buckets: SECONDS_BUCKETS,
      registers,
    });
    const run = new Histogram({
      name: 'taskman_task_run_seconds',
      help: 'From the start to the outcome written, of the tasks this worker ran',
      labelNames: byTask,
      buckets: SECONDS_BUCKETS,
      registers,
    });
    const claims = new Counter({
      name: 'taskman_claims_total',
      help: 'Claim transactions this worker committed',
      labelNames: ['application'],
      registers,
    });
    const claimed = new Counter({
      name: 'taskman_claimed_tasks_total',
      help: 'Tasks those claims took',
      labelNames: ['application'],
      registers,
    });
    const conflicts = new Counter({
      name: 'taskman_claim_conflicts_total',
      help: 'Claims rolled back by another session (deadlock, Galera certification conflict, locked rows), each then retried',
      labelNames: ['application'],
      registers,
    });
    const databaseErrors = new Counter({
      name: 'taskman_database_errors_total',
      help: "Failed database calls of this worker's scheduler, by kind (unavailable and conflict are retried)",
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'taskman_slots_running',
      help: 'Tasks this worker runs now',
      registers,
      collect() {
        this.set(scheduler.runningCount);
      },
    });
    new Gauge({
      name: 'taskman_slots_free',
      help: 'Slots of this worker free for another task',
      registers,
      collect() {
        this.set(Math.max(0, scheduler.concurrency - scheduler.runningCount));
      },
    });
    const depth = new CachedValue(
      () => queueDepth(database, scheduler.applicationNames),
      options.queueDepthMaxAgeMs ?? 5000,
    );
    new Gauge({
      name: 'taskman_queue_depth',
      help: "Tasks of this worker's applications pending or running in the database (all schedulers), read at most once per 5 s; no sample while the database does not answer",
      labelNames: ['application', 'state'],
      registers,
      async collect() {
        const rows = await depth.get().catch((): QueueDepth[] => []);
        this.reset();
        for (const row of rows) this.set({ application: row.application, state: row.state }, row.count);
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    for (const application of scheduler.applicationNames) {
      for (const counter of [claims, claimed, conflicts]) counter.inc({ application }, 0);
    }
    for (const kind of DATABASE_ERROR_KINDS) databaseErrors.inc({ kind }, 0);
    this.on('task-started', (task, waitMs) =>
      wait.observe({ application: task.application, task: task.task }, waitMs / 1000),
    );
    this.on('task-ended', (_taskId, state, ran) => {
      if (!ran) return;
      ended.inc({ application: ran.application, task: ran.task, state });
      if (ran.runMs !== undefined) run.observe({ application: ran.application, task: ran.task }, ran.runMs / 1000);
    });
    this.on('task-retrying', (_taskId, _nextAttempt, ran) => {
      if (ran) retried.inc({ application: ran.application, task: ran.task });
    });
    this.on('claimed', (application, count) => {
      claims.inc({ application });
      claimed.inc({ application }, count);
    });
    this.on('claim-conflict', (application) => conflicts.inc({ application }));
    this.on('database-error', (kind) => databaseErrors.inc({ kind }));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops listening to the scheduler. */
  close(): void {
    for (const detach of this.detach.splice(0)) detach();
  }

  private on<E extends keyof SchedulerEvents>(event: E, listener: Listener<E>): void {
    this.scheduler.on(event, listener);
    this.detach.push(() => this.scheduler.off(event, listener));
  }
}
