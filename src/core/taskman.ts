import { Database } from './database/connection';
import { migrate } from './database/migrations';
import { listSchedulers, type SchedulerInfo } from './database/schedulers';
import { submitTask, type SubmitResult, type SubmitTaskInput } from './database/submitTask';
import {
  type AbortResult,
  countPurgeable,
  deleteTask,
  purgeEndedTasks,
  requestAbort,
  settleDependents,
} from './database/lifecycle';
import {
  childrenOf,
  dependenciesOf,
  type TaskDependency,
  unfinishedDescendants,
  withChildren,
} from './database/relatedTasks';
import { readWaitReasons, type WaitReasons } from './waitReasons';
import { listPausedApplications, type PausedApplication, pauseApplication, resumeApplication } from './database/pauses';
import { type LatestTick, latestTicks } from './database/scheduleTicks';
import { submitMany } from './database/submitMany';
import { rerunTask } from './database/submitTask';
import {
  countByState,
  countTasks,
  getTask,
  listAttempts,
  listTasks,
  type TaskFilter,
  type TaskGrouping,
  validTaskId,
} from './database/taskQueries';
import { type DatabaseTarget, parseDatabaseUrl } from './database/url';
import { parseDuration } from './duration';
import { ensureEmbeddedServer, type EmbeddedServerInfo, type EmbeddedServerOptions } from './embedded/embeddedServer';
import { errorMessage, TaskNotFoundError } from './errors';
import { type Logger, silentLogger } from './logger';
import { type RecentTaskStatistics, readRecentTaskStatistics } from './metrics/taskStatistics';
import { Scheduler } from './scheduler/scheduler';
import type { SchedulerOptions } from './scheduler/schedulerOptions';
import { type StatisticsOptions, StatisticsReader, type TaskStatistics } from './statistics';
import type { Task, TaskAttempt, TaskId, TaskState } from './task';

export interface ConnectOptions {
  /** `mysql://user:pass@host:port/db` (or `?socket=`). Without it: TASKMAN_DATABASE_URL, else the embedded server. */
  url?: string;
  /** A target already parsed (the extension passes the password from SecretStorage this way). */
  target?: DatabaseTarget;
  tablePrefix?: string;
  /** Apply pending migrations on connect (default true). */
  migrate?: boolean;
  /** Retries of the first connection while the server is unreachable (default 3). */
  connectRetries?: number;
  embedded?: EmbeddedServerOptions;
  logger?: Logger;
}

/**
 * The client API every front end uses: submit and inspect tasks, and create schedulers.
 * One instance holds one connection pool.
 */
export class Taskman {
  private readonly schedulers = new Set<Scheduler>();
  private readonly statisticsReader: StatisticsReader;

  private constructor(
    readonly database: Database,
    /** Set when the embedded server is in use. */
    readonly embedded: EmbeddedServerInfo | undefined,
    private readonly logger: Logger,
  ) {
    this.statisticsReader = new StatisticsReader(database);
  }

  static async connect(options: ConnectOptions = {}): Promise<Taskman> {
    const logger = options.logger ?? silentLogger;
    let target = options.target;
    let embedded: EmbeddedServerInfo | undefined;
    const url = options.url ?? process.env.TASKMAN_DATABASE_URL;
    if (!target && url) target = parseDatabaseUrl(url);
    if (!target) {
      embedded = await ensureEmbeddedServer({ logger, ...options.embedded });
      target = embedded.target;
    }
    const database = new Database(target, { tablePrefix: options.tablePrefix, logger });
    try {
      await database.ping({
        retries: options.connectRetries ?? 3,
        onRetry: (error, attempt, delay) => logger.warn(`${errorMessage(error)} Retry ${attempt} in ${delay} ms.`),
      });
      if (options.migrate !== false) await migrate(database);
    } catch (error) {
      await database.close();
      throw error;
    }
    return new Taskman(database, embedded, logger);
  }

  async submit(input: SubmitTaskInput): Promise<SubmitResult> {
    const result = await submitTask(this.database, input);
    // A scheduler in this process serving the application starts it now rather than next poll.
    for (const scheduler of this.schedulers) scheduler.wake();
    return result;
  }

  /**
   * Many tasks in one transaction, all or none: one result per submission, in order; keys honoured
   * per row as `submit` honours them. An invalid submission is named by its position and nothing is
   * submitted. At most 100,000 a batch.
   */
  async submitMany(inputs: SubmitTaskInput[]): Promise<SubmitResult[]> {
    const results = await submitMany(this.database, inputs);
    for (const scheduler of this.schedulers) scheduler.wake();
    return results;
  }

  /**
   * Pauses an application: from the next poll of each, no scheduler claims its tasks; running ones
   * go on and submitting still works (its tasks wait). Pausing again keeps the first pause's time.
   */
  pause(application: string, reason?: string): Promise<PausedApplication> {
    return pauseApplication(this.database, application, reason);
  }

  /** Resumes a paused application; false when it was not paused. */
  async resume(application: string): Promise<boolean> {
    const resumed = await resumeApplication(this.database, application);
    for (const scheduler of this.schedulers) scheduler.wake();
    return resumed;
  }

  /** The paused applications, by name. */
  pausedApplications(): Promise<PausedApplication[]> {
    return listPausedApplications(this.database);
  }

  /** The task with its result and logs; TaskNotFoundError if there is none. */
  async get(id: TaskId): Promise<Task> {
    const task = await getTask(this.database, id);
    if (!task) throw new TaskNotFoundError(validTaskId(id));
    return task;
  }

  /** Each schedule's latest tick made for this application, with its task's state. */
  latestTicks(application: string): Promise<Map<string, LatestTick>> {
    return latestTicks(this.database, application);
  }

  /** Why each of `tasks` does not start yet, if it waits for a concurrency key or its dependencies. */
  waitReasons(tasks: readonly Task[]): Promise<WaitReasons> {
    return readWaitReasons(this.database, tasks);
  }

  /** The earlier attempts of a retried task, oldest first (none for a task that was never retried). */
  attempts(id: TaskId): Promise<TaskAttempt[]> {
    return listAttempts(this.database, id);
  }

  list(filter?: TaskFilter): Promise<Task[]> {
    return listTasks(this.database, filter);
  }

  countByState(filter?: TaskFilter): Promise<Record<TaskState, number>> {
    return countByState(this.database, filter);
  }

  /** Matching tasks per state, task name or application, in one grouped query. */
  count(filter: TaskFilter, groupBy: TaskGrouping): Promise<Map<string, number>> {
    return countTasks(this.database, filter, groupBy);
  }

  /** What the dashboard charts: tasks ended per bucket, queue depth, timings and failure rates per task name, scheduler load. */
  statistics(options?: StatisticsOptions): Promise<TaskStatistics> {
    return this.statisticsReader.read(options);
  }

  /**
   * What `taskman stats` prints: queue depth now, and the tasks that ended in the last `windowMs`
   * (database clock) by application, task and state, with p50/p95 of their wait and run times
   * from the `sampleLimit` (default 10,000) that ended last.
   */
  recentStatistics(options: { windowMs: number; sampleLimit?: number }): Promise<RecentTaskStatistics> {
    return readRecentTaskStatistics(this.database, options);
  }

  /**
   * Aborts a task; one aborted before it started takes the tasks waiting for it with it
   * (skipped). With `withChildren`, the tasks its code submitted (and theirs) that have not ended
   * are aborted too; `children` says how many.
   */
  async abort(
    id: TaskId,
    reason?: string,
    options: { withChildren?: boolean } = {},
  ): Promise<AbortResult & { children?: number }> {
    const taskId = validTaskId(id);
    const result = await this.abortOne(taskId, reason);
    if (!options.withChildren) return result;
    const descendants = await unfinishedDescendants(this.database, taskId);
    for (const child of descendants) await this.abortOne(child, reason ?? `its parent task ${taskId} was aborted`);
    return { ...result, children: descendants.length };
  }

  private async abortOne(id: TaskId, reason?: string): Promise<AbortResult> {
    const result = await requestAbort(this.database, id, reason);
    // A scheduler's maintenance settles them too, should this fail.
    if (result.outcome === 'aborted') await settleDependents(this.database, [id]).catch(() => undefined);
    return result;
  }

  /** The tasks `id`'s code submitted with `ctx.submit`, oldest first (at most 1,000). */
  async children(id: TaskId): Promise<Task[]> {
    return childrenOf(this.database, validTaskId(id));
  }

  /** Which of `ids` have children. */
  async withChildren(ids: TaskId[]): Promise<Set<TaskId>> {
    return withChildren(
      this.database,
      ids.map((id) => validTaskId(id)),
    );
  }

  /** The tasks `id` runs after, with their states. */
  async dependencies(id: TaskId): Promise<TaskDependency[]> {
    return dependenciesOf(this.database, validTaskId(id));
  }

  /** A new task like the ended one (`options.payload` replaces its payload), with `rerunOf` set. */
  rerun(id: TaskId, options?: { payload?: unknown }): Promise<SubmitResult> {
    return rerunTask(this.database, id, options).then((result) => {
      for (const scheduler of this.schedulers) scheduler.wake();
      return result;
    });
  }

  delete(id: TaskId): Promise<void> {
    return deleteTask(this.database, id);
  }

  /**
   * Deletes ended tasks older than `olderThan` (`7d`, ms) or, given a time, that ended before it;
   * only of `states` if given. Returns how many.
   */
  async purge(olderThan: string | number | Date, states?: TaskState[]): Promise<number> {
    const age =
      olderThan instanceof Date ? { endedBefore: olderThan } : { olderThanMs: parseDuration(olderThan, 'older-than') };
    return purgeEndedTasks(this.database, { age, states });
  }

  /** How many tasks `purge(olderThan, states)` would delete now, and the cut-off to purge them by. */
  async countPurgeable(
    olderThan: string | number,
    states?: TaskState[],
  ): Promise<{ count: number; endedBefore: Date }> {
    return countPurgeable(this.database, { age: { olderThanMs: parseDuration(olderThan, 'older-than') }, states });
  }

  listSchedulers(): Promise<SchedulerInfo[]> {
    return listSchedulers(this.database);
  }

  /** A scheduler on this connection; start() it. Local submissions wake it at once. */
  createScheduler(options: Omit<SchedulerOptions, 'database' | 'logger'> & { logger?: Logger }): Scheduler {
    const scheduler = new Scheduler({ logger: this.logger, ...options, database: this.database });
    this.schedulers.add(scheduler);
    scheduler.once('stopped', () => this.schedulers.delete(scheduler));
    return scheduler;
  }

  /** Stops this instance's schedulers gracefully, then closes the pool. */
  async close(): Promise<void> {
    await Promise.all([...this.schedulers].map((scheduler) => scheduler.stop()));
    await this.database.close();
  }
}
