import { type ApplicationConfig, interpreterOf } from '../config';
import type { Database } from '../database/connection';
import {
  expireOverdueTasks,
  markStarted,
  type Outcome,
  releaseClaimedTasks,
  type StartMark,
} from '../database/lifecycle';
import { findAbortRequests, recordProgress } from '../database/runningTasks';
import { formatDuration } from '../duration';
import { errorMessage } from '../errors';
import { failure } from '../failures';
import type { Logger } from '../logger';
import {
  type EffectiveTaskOptions,
  effectiveTaskOptions,
  hasAttemptsLeft,
  retryDelayMs,
  rowOptions,
  startStamp,
} from '../retries';
import type { Task, TaskError, TaskProgress } from '../task';
import type { RunnerMessage } from '../protocol';
import type { DatabaseHealth } from './databaseHealth';
import { outcomeFromExit } from './outcomeFromExit';
import type { RunnerPool } from './runnerPool';
import type { SpareRunners } from './spareRunners';
import { RunnerProcess } from './runnerProcess';
import { waitBeforeStart } from './runTimes';

/** What every run of one scheduler shares. */
export interface TaskRunContext {
  db: Database;
  pool: RunnerPool;
  spares: SpareRunners;
  runnerScript: string;
  logger: Logger;
  health: DatabaseHealth;
  /** After an abort request, how long the task has to stop by itself before SIGTERM. */
  abortGraceMs: number;
  /** After SIGTERM, how long before SIGKILL. */
  killGraceMs: number;
  progressWriteIntervalMs: number;
  resultLimitBytes: number;
  outputLimitBytes: number;
  /** `waitMs`: see waitBeforeStart. */
  onStarted(task: Task, waitMs: number): void;
  /** A task run under the inspector is paused before any of its code, waiting for a debugger on `port`. */
  onDebuggable(taskId: string, port: number): void;
  /** `ctx.submit` of a running task: its child's id, or why it was not submitted. */
  submitChild(parent: Task, app: ApplicationConfig, request: ChildRequest): Promise<{ id?: string; error?: TaskError }>;
}

export type ChildRequest = Extract<RunnerMessage, { type: 'submit' }>;

/** How much of a running task's output is kept in its row while it runs; all of the tail at its end. */
const LIVE_LOG_CHARS = 16 * 1024;

/**
 * What `node --inspect-brk=127.0.0.1:0` prints on stderr once it listens, or the Python runner
 * once debugpy does (src/runner-python: it waits for the debugger before loading the tasks module).
 */
const DEBUGGER_LISTENING = /Debugger listening on (?:ws|debugpy):\/\/127\.0\.0\.1:(\d+)[/\r\n]/;

/**
 * One claimed task in this scheduler, from its started mark to its outcome (docs/design.md
 * "Exactly once, concretely", steps 2 and 4): the runner it runs in, its abort and timeout, and
 * its progress writes.
 */
export class TaskRun {
  private runner: RunnerProcess | undefined;
  private abortReason: string | undefined;
  private progress: TaskProgress;
  private liveTimer: NodeJS.Timeout | undefined;
  private progressDirty = false;
  private outputDirty = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Our claim was revoked (we were swept): the outcome must not be written. */
  private fenced = false;
  /** A runner was given the task: its code may have run, so its row is never put back as a stray. */
  handedToRunner = false;
  /** performance.now() when a runner was handed the task. */
  startedAt: number | undefined;
  /** Its retries and timeout: its row's, else its application's `taskOptions`. */
  readonly options: EffectiveTaskOptions;
  /** What its started mark stamps on its row (lifecycle/startStamp.ts). */
  readonly stamp: EffectiveTaskOptions | undefined;

  constructor(
    readonly task: Task,
    readonly app: ApplicationConfig,
    /** The id that claimed the task: its writes stay fenced by it even after we register again. */
    readonly schedulerId: string,
    private readonly context: TaskRunContext,
    /** performance.now() when the claim that took it returned. */
    private readonly claimedAt = performance.now(),
  ) {
    this.progress = { percent: task.progress.percent, message: task.progress.message };
    this.options = effectiveTaskOptions(rowOptions(task), app.taskOptions, task.task);
    this.stamp = startStamp(task, app.taskOptions);
  }

  /**
   * Asks the task to stop: its AbortSignal fires, then SIGTERM and SIGKILL follow after the grace
   * periods. With `now`, the runner's process group is killed at once.
   */
  abort(reason: string, options: { now?: boolean } = {}): void {
    if (options.now) {
      this.abortReason ??= reason;
      this.runner?.kill();
      return;
    }
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.context.logger.info(`task ${this.task.id}: aborting (${reason})`);
    this.runner?.abort(reason);
    this.timers.push(setTimeout(() => this.runner?.terminate(this.context.killGraceMs), this.context.abortGraceMs));
  }

  /** Another scheduler declared ours dead and settled this task: stop the runner, record nothing. */
  fence(): void {
    this.fenced = true;
    this.runner?.kill();
  }

  /** Clears the timers (abort, timeout, progress) once the run is over. */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    if (this.liveTimer) clearTimeout(this.liveTimer);
  }

  /**
   * Marks the task started (unless a batched mark did), runs it and returns the outcome to deliver;
   * undefined when there is none to write (the task is no longer ours, or was not started).
   */
  async run(markedTogether: Promise<StartMark | undefined>): Promise<Outcome | undefined> {
    const { task, app, context } = this;
    const mark =
      (await markedTogether) ??
      (await context.health.retryWhileUnavailable(
        () => markStarted(context.db, task.id, this.schedulerId, app.version, this.stamp),
        () => this.fenced,
      ));
    if (mark === undefined || mark === 'not-owned') {
      context.logger.warn(`task ${task.id}: no longer ours before it started (swept); not starting it`);
      return undefined;
    }
    if (mark === 'overdue') {
      // Claimed in time, but its deadline passed while it waited for a slot: it never started, so
      // it goes back to pending, where the expiry makes it `expired`.
      context.logger.warn(
        `task ${task.id}: its start-before deadline passed while it waited for a slot; not starting it`,
      );
      await context.health.retryWhileUnavailable(
        () => releaseClaimedTasks(context.db, [task.id], this.schedulerId),
        () => this.fenced,
      );
      // Also done by every scheduler's maintenance; here so that its state says so at once.
      await expireOverdueTasks(context.db).catch((error) =>
        context.logger.debug(`expiring overdue tasks: ${errorMessage(error)}`),
      );
      return undefined;
    }
    if (mark === 'abort-requested') {
      const reason = (await this.requestedAbortReason()) ?? 'aborted by a user';
      return {
        state: 'aborted',
        abortReason: reason,
        error: failure('TaskAborted', reason),
        logs: '',
        progress: this.progress,
      };
    }
    context.logger.info(`task ${task.id}: starting ${app.name}.${task.task} (attempt ${task.attempt})`);
    const debugging = task.debugSchedulerId !== null;
    // A debugged task gets its own process under the inspector, whatever the application's mode.
    const pooled = app.runner === 'pooled' && !debugging;
    const runner = pooled ? context.pool.acquire(app) : this.ownRunner(debugging);
    this.runner = runner;
    this.handedToRunner = true;
    const finished = runner.run(
      {
        type: 'start',
        taskId: task.id,
        attempt: task.attempt,
        task: task.task,
        payloadJson: JSON.stringify(task.payload),
        tasksModule: app.tasks,
        resultLimitBytes: context.resultLimitBytes,
        keepAlive: pooled,
      },
      {
        onProgress: (percent, message) => {
          this.progress = { percent, message };
          this.progressDirty = true;
          this.scheduleLiveWrite();
        },
        onOutput: this.outputListener(debugging),
        onSubmit: (request) =>
          void context
            .submitChild(task, app, request)
            .then((answer) =>
              runner.send({ type: 'submit-result', taskId: task.id, requestId: request.requestId, ...answer }),
            ),
      },
    );
    if (this.abortReason !== undefined) runner.abort(this.abortReason);
    // A paused debuggee would hit its timeout while someone reads its variables.
    const { timeoutMs } = this.options;
    if (timeoutMs && !debugging) {
      this.timers.push(setTimeout(() => this.abort(`timeout after ${formatDuration(timeoutMs)}`), timeoutMs));
    }
    this.startedAt = performance.now();
    context.onStarted(task, waitBeforeStart(task, this.claimedAt, this.startedAt));
    const exit = await finished;
    // From here the runner may serve another task: nothing of this one may signal it.
    this.runner = undefined;
    // Reused only after a task that ended by itself: an abort may have left it half-stopped.
    if (pooled)
      context.pool.release(app, runner, exit.final !== undefined && this.abortReason === undefined && !this.fenced);
    if (this.fenced) {
      context.logger.warn(
        `task ${task.id}: finished after this scheduler was declared dead; its outcome is not recorded (the task is lost)`,
      );
      return undefined;
    }
    const outcome = outcomeFromExit(exit, {
      abortReason: this.abortReason,
      progress: this.progress,
      resultLimitBytes: context.resultLimitBytes,
      interpreter: interpreterOf(app),
    });
    outcome.retry = this.retryAfter(outcome);
    const retrying = outcome.retry ? `, retrying in ${formatDuration(outcome.retry.delayMs)}` : '';
    context.logger.info(
      `task ${task.id}: ${outcome.state}${outcome.error ? ` (${outcome.error.name}: ${outcome.error.message})` : ''}${retrying}`,
    );
    return outcome;
  }

  /**
   * The next attempt of a failed run with attempts left. A run under the debugger is not retried:
   * its session is over.
   */
  private retryAfter(outcome: Outcome): Outcome['retry'] {
    const { attempt, debugSchedulerId } = this.task;
    if (outcome.state !== 'failed' || debugSchedulerId !== null || !hasAttemptsLeft(this.options, attempt)) return;
    return { attempt, delayMs: retryDelayMs(this.options, attempt) };
  }

  /** A process of the task's own; under the debugger when debugging. */
  private ownRunner(debugging: boolean): RunnerProcess {
    if (!debugging) return this.context.spares.take(this.app);
    const python = this.app.runtime === 'python';
    return new RunnerProcess({
      app: this.app,
      runnerScript: this.context.runnerScript,
      outputLimitBytes: this.context.outputLimitBytes,
      // Both hold the runner until a debugger is attached, so that its breakpoints are set before
      // the tasks module (user code) loads: --inspect-brk on the runner's first line, debugpy's
      // wait_for_client() in the Python runner.
      // Python 3.11+ warns on stderr that frozen modules hide breakpoints in the standard library
      // unless told not to freeze them; older versions ignore the option.
      extraExecArgv: python ? ['-Xfrozen_modules=off'] : ['--inspect-brk=127.0.0.1:0'],
      extraEnv: python ? { TASKMAN_DEBUGPY: '1' } : undefined,
    });
  }

  /** Output makes the live log tail due; under a debugger it also tells where the debugger listens. */
  private outputListener(debugging: boolean): (chunk: Buffer) => void {
    const watchDebugger = debugging ? this.debuggerWatcher() : undefined;
    return (chunk) => {
      watchDebugger?.(chunk);
      this.outputDirty = true;
      this.scheduleLiveWrite();
    };
  }

  /** Reads the runner's output until its debugger says where it listens, and announces that once. */
  private debuggerWatcher(): (chunk: Buffer) => void {
    let output = '';
    let announced = false;
    return (chunk) => {
      if (announced) return;
      output += chunk.toString();
      const match = DEBUGGER_LISTENING.exec(output);
      if (!match) return;
      announced = true;
      this.context.onDebuggable(this.task.id, Number(match[1]));
    };
  }

  private async requestedAbortReason(): Promise<string | undefined> {
    const requests = await findAbortRequests(this.context.db, this.schedulerId).catch(() => []);
    return requests.find((request) => request.id === this.task.id)?.reason ?? undefined;
  }

  /**
   * Progress and the tail of the output, so that every client sees them while the task runs:
   * last value wins, at most one write per interval per task, nothing when neither changed. The
   * final values go with the outcome.
   */
  private scheduleLiveWrite(): void {
    if (this.liveTimer) return;
    this.liveTimer = setTimeout(() => {
      this.liveTimer = undefined;
      if (this.fenced || (!this.progressDirty && !this.outputDirty)) return;
      const logs = this.outputDirty ? this.runner?.outputText().slice(-LIVE_LOG_CHARS) : undefined;
      this.progressDirty = false;
      this.outputDirty = false;
      recordProgress(this.context.db, this.task.id, this.schedulerId, this.progress, logs).catch((error) =>
        this.context.logger.debug(`task ${this.task.id}: progress not written: ${errorMessage(error)}`),
      );
    }, this.context.progressWriteIntervalMs);
  }
}
