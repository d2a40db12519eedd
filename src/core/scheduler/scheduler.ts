import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ApplicationConfig } from '../config';
import { claimTasks, hasClaimableTask, type StartMark } from '../database/lifecycle';
import { type Database, SESSION_SETTINGS } from '../database/connection';
import {
  classifyDatabaseError,
  isConflict,
  isDatabaseError,
  isTransientDatabaseError,
} from '../database/databaseErrors';
import { backoffDelay, sleep, withinTime } from '../timing';
import { findAbortRequests } from '../database/runningTasks';
import { deregisterScheduler, heartbeat, registerScheduler } from '../database/schedulers';
import { errorMessage, SchedulerFencedError } from '../errors';
import { type Logger, silentLogger } from '../logger';
import type { Task } from '../task';
import { ClaimedAhead } from './claimedAhead';
import { DatabaseHealth } from './databaseHealth';
import { DatabaseWake } from './databaseWake';
import { OutcomeDelivery } from './outcomeDelivery';
import { RunnerPool } from './runnerPool';
import { StartMarks } from './startMarks';
import { maintain } from './maintenance';
import { Reconciliation } from './reconciliation';
import { EndingRuns } from './runTimes';
import { holdLimitMs, type SchedulerEvents, type SchedulerOptions, withDefaults } from './schedulerOptions';
import { TaskRun, type TaskRunContext } from './taskRun';

interface RunningTask {
  run: TaskRun;
  /** Settles once the run is over and its outcome handed to delivery. */
  done: Promise<void>;
}

const WAKE_UP = 'wake up';

/**
 * Claims tasks of its applications, runs each in a runner process, and records how each ended.
 * See docs/design.md "Exactly once, concretely" for the protocol this follows.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly db: Database;
  private readonly options: ReturnType<typeof withDefaults>;
  private readonly logger: Logger;
  private readonly running = new Map<string, RunningTask>();
  private readonly pool: RunnerPool;
  private readonly health: DatabaseHealth;
  private readonly runContext: TaskRunContext;
  private applications: ApplicationConfig[];
  private schedulerId: string | undefined;
  private delivery: OutcomeDelivery | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private wakeController = new AbortController();
  private readonly stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private lastAbortCheckAt = 0;
  private readonly reconciliation: Reconciliation;
  /** Tasks whose run failed in the scheduler itself after a runner had them (rare; never strays). */
  private readonly ranWithoutOutcome = new Set<string>();
  /** Applications whose last claim filled every slot offered: more may be waiting, skip the probe. */
  private readonly busyApplications = new Set<string>();
  private readonly databaseWake: DatabaseWake;
  private readonly claimedAhead: ClaimedAhead;
  private readonly startMarks: StartMarks;
  private readonly endingRuns = new EndingRuns();

  constructor(options: SchedulerOptions) {
    super();
    this.options = withDefaults(options);
    this.db = options.database;
    this.logger = options.logger ?? silentLogger;
    this.applications = [...options.applications];
    this.pool = new RunnerPool({
      runnerScript: this.runnerScript,
      outputLimitBytes: this.options.outputLimitBytes,
      idleTimeoutMs: this.options.runnerIdleTimeoutMs,
    });
    this.databaseWake = new DatabaseWake(this.db, this.logger);
    this.claimedAhead = new ClaimedAhead(this.options.claimAheadMs, holdLimitMs(this.options.claimAheadMs));
    this.startMarks = new StartMarks(this.db, this.logger);
    // A COMMIT still on the wire when the client gave up lands within the server's wait_timeout, or never.
    this.reconciliation = new Reconciliation(this.db, this.logger, {
      intervalMs: this.options.heartbeatIntervalMs,
      settleMs: (SESSION_SETTINGS.idleTimeoutSeconds + 2) * 1000,
    });
    this.health = new DatabaseHealth(this.logger, {
      unavailable: (error) => this.emit('database-unavailable', error),
      available: () => this.emit('database-available'),
      failed: (error) => this.emit('database-error', classifyDatabaseError(error), error),
    });
    const { abortGraceMs, killGraceMs, progressWriteIntervalMs, resultLimitBytes, outputLimitBytes } = this.options;
    this.runContext = {
      db: this.db,
      pool: this.pool,
      runnerScript: this.runnerScript,
      logger: this.logger,
      health: this.health,
      abortGraceMs,
      killGraceMs,
      progressWriteIntervalMs,
      resultLimitBytes,
      outputLimitBytes,
      onStarted: (task, waitMs) => this.emit('task-started', task, waitMs),
      onDebuggable: (taskId, port) => this.emit('task-debuggable', taskId, port),
    };
  }

  private get runnerScript(): string {
    return this.options.runnerScript ?? path.join(__dirname, 'runner.js');
  }

  get id(): string | undefined {
    return this.schedulerId;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Tasks claimed ahead of a free slot, not yet started (see ClaimedAhead). */
  get claimedAheadCount(): number {
    return this.claimedAhead.size;
  }

  /** The names of the applications served. */
  get applicationNames(): string[] {
    return this.applications.map((app) => app.name);
  }

  get concurrency(): number {
    return this.options.concurrency ?? this.applications.reduce((sum, app) => sum + app.concurrency, 0);
  }

  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  /** Registers (retrying while the database is away), adopts orphaned outcomes, and starts polling. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('A Scheduler can be started once.');
    this.state = 'running';
    this.delivery = new OutcomeDelivery({
      db: this.db,
      journalDir: this.options.journalDir,
      logger: this.logger,
      health: this.health,
      stopSignal: this.stopController.signal,
      onDelivered: (taskId, outcome, written) => {
        const run = this.endingRuns.take(taskId);
        if (written) this.emit('task-ended', taskId, outcome.state, run);
      },
    });
    this.delivery.adoptOrphans();
    await this.register();
    this.loops = [this.pollLoop(), this.heartbeatLoop(), this.maintenanceLoop()];
  }

  /** Polls now instead of at the next interval (a task was just submitted in this process). */
  wake(): void {
    // A plain reason: the default one is a DOMException with a stack, made on every wake-up.
    this.wakeController.abort(WAKE_UP);
  }

  /** Replaces the applications served (e.g. a config file changed); running tasks are unaffected. */
  setApplications(applications: ApplicationConfig[]): void {
    this.applications = [...applications];
    this.pool.retain(this.applications);
    // Claimed under the old configuration: for any scheduler (this one included) to claim again.
    this.reconciliation.release(this.claimedAhead.takeAll(), 'the applications changed');
    if (this.schedulerId) {
      heartbeat(this.db, this.schedulerId, this.running.size, this.registeredApplications()).catch(() => undefined);
    }
    this.wake();
  }

  /**
   * Asks one of our running tasks to stop: its AbortSignal fires, then SIGTERM and SIGKILL follow
   * after the grace periods. With `now`, the runner's process group is killed at once (a debuggee
   * whose debugger is leaving must not run on). False when the task does not run here.
   */
  abortTask(taskId: string, reason: string, options: { now?: boolean } = {}): boolean {
    const held = this.claimedAhead.remove(taskId);
    // Its started mark sees the abort request and records it aborted without running it.
    if (held) this.startTask(held.task, held.app, held.schedulerId);
    const entry = this.running.get(taskId);
    if (!entry) return false;
    entry.run.abort(reason, options);
    return true;
  }

  /**
   * Graceful stop: no more claims; running tasks get `shutdownTimeoutMs` to finish, then are
   * aborted ("scheduler shutting down"); outcomes are delivered (or stay in the journal for the
   * next start); the scheduler row is removed.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return this.stopped();
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.logger.info(`scheduler ${this.schedulerId}: stopping (${this.running.size} running)`);
    this.reconciliation.release(this.claimedAhead.takeAll(), 'the scheduler is stopping');
    this.wake();
    const timeoutMs = options.timeoutMs ?? this.options.shutdownTimeoutMs;
    const allDone = () => Promise.all([...this.running.values()].map((entry) => entry.done));
    const finishedInTime = await withinTime(allDone(), timeoutMs);
    if (!finishedInTime) {
      for (const taskId of this.running.keys()) this.abortTask(taskId, 'scheduler shutting down');
      await allDone();
    }
    this.stopController.abort();
    this.databaseWake.close();
    this.pool.close();
    await Promise.all(this.loops);
    // Claimed by a claim that was in flight when the stop began.
    this.reconciliation.release(this.claimedAhead.takeAll(), 'the scheduler is stopping');
    await this.reconciliation.settled();
    // A claim whose reply was lost: put its tasks back rather than have deregistration call them lost.
    if (this.reconciliation.due(Infinity))
      await this.reconcile().catch((error) =>
        this.logger.warn(`could not reconcile the tasks under scheduler ${this.schedulerId}: ${errorMessage(error)}`),
      );
    // Deliveries still failing (database away) stay in the journal for the next start.
    await this.delivery?.close(Math.min(5000, timeoutMs));
    if (this.schedulerId) {
      await deregisterScheduler(this.db, this.schedulerId, 'scheduler stopped').catch((error) =>
        this.logger.warn(`could not deregister scheduler ${this.schedulerId}: ${errorMessage(error)}`),
      );
    }
    this.state = 'stopped';
    this.emit('stopped');
    this.logger.info(`scheduler ${this.schedulerId}: stopped`);
  }

  private stopped(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.once('stopped', () => resolve()));
  }

  private registeredApplications() {
    return this.applications.map((app) => ({ name: app.name, version: app.version }));
  }

  private async register(): Promise<void> {
    for (let attempt = 0; this.state === 'running'; attempt++) {
      try {
        this.schedulerId = await registerScheduler(this.db, {
          host: os.hostname(),
          pid: process.pid,
          applications: this.registeredApplications(),
          concurrency: this.concurrency,
        });
        this.health.available();
        this.logger.info(
          `scheduler ${this.schedulerId} registered for ${this.applications.map((a) => `${a.name}@${a.version}`).join(', ') || 'no application'}`,
        );
        this.emit('registered', this.schedulerId);
        return;
      } catch (error) {
        if (!isTransientDatabaseError(error)) throw error;
        this.health.failed(error as Error);
        await sleep(backoffDelay(attempt), this.stopController.signal);
      }
    }
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    let waitFailures = 0;
    let woken = true;
    let databaseSaidWork = false;
    /** Wake-ups from the database in a row whose claim found nothing. */
    let emptyWakeups = 0;
    while (this.state === 'running' || (this.state === 'stopping' && !this.stopController.signal.aborted)) {
      // Made before the poll, so that a wake-up during it (a task ending while we claim) is kept
      // and the next poll follows at once instead of after a full interval.
      const wake = new AbortController();
      this.wakeController = wake;
      let claimed = 0;
      try {
        claimed = await this.poll(woken);
        failures = 0;
      } catch (error) {
        failures++;
        await this.handleLoopError(error, 'poll');
      }
      if (wake.signal.aborted) {
        woken = true;
        continue;
      }
      const signal = AbortSignal.any([wake.signal, this.stopController.signal]);
      const base = this.options.pollIntervalMs;
      if (failures > 0) {
        await sleep(Math.max(base, backoffDelay(failures)), signal);
        databaseSaidWork = false;
        woken = wake.signal.aborted;
        continue;
      }
      // A wake-up from the database whose claim found nothing: someone else took the task, or our
      // heartbeat is stale and the claim refused us. Wait a little longer each time so that this
      // can never spin.
      emptyWakeups = databaseSaidWork && claimed === 0 ? emptyWakeups + 1 : 0;
      if (emptyWakeups > 0) await sleep(Math.min(base, 5 * 2 ** emptyWakeups), signal);
      try {
        databaseSaidWork = await this.waitForWork(base * (0.5 + Math.random()), signal);
        waitFailures = 0;
      } catch (error) {
        databaseSaidWork = false;
        waitFailures++;
        await this.handleLoopError(error, 'waiting for tasks');
        await sleep(Math.max(base, backoffDelay(waitFailures)), signal);
      }
      woken = databaseSaidWork || wake.signal.aborted;
    }
  }

  /**
   * Until the next poll is due: true as soon as the database reports a task we could claim. Falls
   * back to sleeping when waiting in the database is not available, or no slot is free (a task
   * ending here wakes us then).
   */
  private async waitForWork(maxWaitMs: number, signal: AbortSignal): Promise<boolean> {
    const applications =
      this.state === 'running' && this.schedulerId && this.databaseWake.available
        ? this.applicationsWithFreeSlots()
        : [];
    if (applications.length === 0) {
      await sleep(maxWaitMs, signal);
      return false;
    }
    const found = await this.databaseWake.wait(this.schedulerId!, applications, maxWaitMs, signal);
    this.health.available();
    return found;
  }

  private applicationsWithFreeSlots(): { name: string; version: string }[] {
    if (this.running.size >= this.concurrency) return [];
    return this.applications
      .filter((app) => this.runningOf(app) < app.concurrency)
      .map((app) => ({ name: app.name, version: app.version }));
  }

  /**
   * `woken`: something (a submit here, a task ending, the database's wait) says there may be work.
   * Returns how many tasks were claimed.
   */
  private async poll(woken: boolean): Promise<number> {
    if (!this.schedulerId) return 0;
    const now = performance.now();
    if (this.reconciliation.due(now)) await this.reconcile();
    this.reconciliation.release(
      this.claimedAhead.takeOverdue(now),
      `no slot took them within ${this.claimedAhead.holdLimitMs} ms`,
    );
    // On its own cadence, not on every wake: a busy scheduler is woken once per finished task.
    if (this.running.size + this.claimedAhead.size > 0 && now - this.lastAbortCheckAt >= this.options.pollIntervalMs) {
      this.lastAbortCheckAt = now;
      for (const request of await findAbortRequests(this.db, this.schedulerId)) {
        this.abortTask(request.id, request.reason ?? 'aborted by a user');
      }
    }
    if (this.state !== 'running') return 0;
    return this.claim(woken);
  }

  /** Runs in the poll loop, between claims, so that no claim of ours is in flight (Reconciliation). */
  private async reconcile(): Promise<void> {
    if (!this.schedulerId) return;
    await this.reconciliation.reconcile(
      this.schedulerId,
      (id) =>
        this.running.has(id) ||
        this.claimedAhead.has(id) ||
        this.delivery!.isDelivering(id) ||
        this.ranWithoutOutcome.has(id),
    );
  }

  /**
   * Sweeping dead schedulers, settling orphaned tasks and expiring overdue ones: on a timer of its
   * own, so that a statement that meets another scheduler's locks (for at most the session's lock
   * wait) never holds up claims.
   */
  private async maintenanceLoop(): Promise<void> {
    while (!this.stopController.signal.aborted) {
      if (this.schedulerId && this.state === 'running') {
        try {
          await maintain(this.db, {
            schedulerId: this.schedulerId,
            heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
            health: this.health,
            logger: this.logger,
          });
          this.health.available();
        } catch (error) {
          await this.handleLoopError(error, 'maintenance');
        }
      }
      await sleep(this.options.heartbeatIntervalMs * (0.8 + 0.4 * Math.random()), this.stopController.signal);
    }
  }

  /**
   * Claims for each application with free slots when woken or the last claim was full. Otherwise
   * the database's wait has just said there is nothing; without that wait (not available), a
   * one-statement probe asks first. While the last claim was full, it also claims ahead the tasks
   * expected to start soon (ClaimedAhead), even with no slot free.
   *
   * One claim at a time: a slot freed while a claim is in flight waits for the next one, which
   * takes every slot freed meanwhile (3.8 tasks per claim with 8 pooled slots of no-op tasks, or
   * about 9 when claiming ahead). Measured there, before claiming ahead: letting a second or third
   * claim start meanwhile made batches of 2.1 and 1.4 tasks, cost 20-35 % more CPU per task, and
   * lowered tasks/s by 12-20 %.
   */
  private async claim(woken: boolean): Promise<number> {
    this.startHeld();
    let total = 0;
    for (const app of this.applications) {
      if (this.state !== 'running') return total;
      const slots = Math.min(this.concurrency, app.concurrency);
      const limit = Math.max(0, Math.min(this.concurrency - this.running.size, app.concurrency - this.runningOf(app)));
      const ahead = this.busyApplications.has(app.name) ? this.claimedAhead.wanted(app.name, slots) : 0;
      if (limit + ahead <= 0) continue;
      const schedulerId = this.schedulerId;
      if (!schedulerId) return total;
      const request = { schedulerId, application: app.name, version: app.version };
      if (!woken && !this.busyApplications.has(app.name)) {
        if (this.databaseWake.available) continue;
        const found = await hasClaimableTask(this.db, request);
        this.health.available();
        if (!found) continue;
      }
      // The tasks for free slots are marked started in the claim itself; those claimed ahead when a slot takes them.
      const claim = {
        ...request,
        limit: limit + ahead,
        startNow: limit,
        heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
      };
      const claimed = await claimTasks(this.db, claim, {
        onConflict: () => this.emit('claim-conflict', app.name),
      }).catch((error) => {
        // No answer: the claim may have committed anyway (a lost reply). A conflict was rolled back.
        if (!isConflict(error)) this.reconciliation.suspect();
        throw error;
      });
      this.health.available();
      this.emit('claimed', app.name, claimed.length);
      if (claimed.length === limit + ahead) this.busyApplications.add(app.name);
      else this.busyApplications.delete(app.name);
      total += claimed.length;
      if (claimed.length > 0) this.databaseWake.sawWork();
      // Under the id that claimed them, even if we are fenced and re-register meanwhile. Slots only
      // free up while the claim is in flight, so those it started have theirs.
      for (const task of claimed.slice(0, limit)) this.startTask(task, app, schedulerId, { markedInClaim: true });
      this.claimedAhead.hold(claimed.slice(limit), app, schedulerId, performance.now());
      this.startHeld();
    }
    return total;
  }

  /** Starts held tasks in the free slots, oldest first. */
  private startHeld(): void {
    while (this.state === 'running' && this.running.size < this.concurrency) {
      const held = this.claimedAhead.take((app) => this.runningOf(app) < app.concurrency);
      if (!held) return;
      this.startTask(held.task, held.app, held.schedulerId, { claimedAt: held.heldSince });
    }
  }

  /** `claimedAt`: performance.now() when its claim returned, if not just now. */
  private startTask(
    task: Task,
    app: ApplicationConfig,
    schedulerId: string,
    options: { markedInClaim?: boolean; claimedAt?: number } = {},
  ): void {
    const run = new TaskRun(task, app, schedulerId, this.runContext, options.claimedAt);
    const startedAt = performance.now();
    const mark = options.markedInClaim
      ? Promise.resolve<StartMark>('started')
      : this.startMarks.request(task.id, schedulerId, app.version);
    const done = run
      .run(mark)
      .then((outcome) => {
        if (!outcome) return;
        this.claimedAhead.recordRun(app.name, performance.now() - startedAt);
        this.endingRuns.add(task, run.startedAt);
        this.delivery!.deliver({ taskId: task.id, schedulerId, outcome });
      })
      .catch((error) => {
        this.logger.error(`task ${task.id}: ${errorMessage(error)}`);
        // Its outcome is unknown; reconciliation must never take it for one that did not run.
        if (run.handedToRunner) this.ranWithoutOutcome.add(task.id);
      })
      .finally(() => {
        run.dispose();
        this.running.delete(task.id);
        this.startHeld();
        this.databaseWake.sawWork();
        this.wake();
      });
    this.running.set(task.id, { run, done });
  }

  private runningOf(app: ApplicationConfig): number {
    let count = 0;
    for (const entry of this.running.values()) if (entry.run.app.name === app.name) count++;
    return count;
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopController.signal.aborted) {
      await sleep(this.options.heartbeatIntervalMs, this.stopController.signal);
      const schedulerId = this.schedulerId;
      if (this.stopController.signal.aborted) return;
      if (!schedulerId) continue;
      try {
        // A heartbeat stuck on a dead connection would let our row go stale: it gets a third of the timeout.
        const alive = await heartbeat(this.db, schedulerId, this.running.size, undefined, {
          timeoutMs: Math.max(1000, this.options.heartbeatTimeoutMs / 3),
        });
        this.health.available();
        if (!alive) await this.onFenced(schedulerId);
      } catch (error) {
        await this.handleLoopError(error, 'heartbeat');
      }
    }
  }

  private async handleLoopError(error: unknown, where: string): Promise<void> {
    if (error instanceof SchedulerFencedError) return this.onFenced(error.schedulerId);
    if (isTransientDatabaseError(error)) {
      this.health.failed(error as Error);
      return;
    }
    if (isDatabaseError(error)) this.emit('database-error', classifyDatabaseError(error), error);
    this.logger.error(`${where}: ${errorMessage(error)}`);
  }

  /**
   * Another scheduler declared us dead and settled our tasks (requeued or lost). Our runners' work
   * can no longer be recorded: stop them, and come back under a new id.
   */
  private async onFenced(old: string): Promise<void> {
    // The heartbeat and a claim can both notice; the first one handles it.
    if (this.schedulerId !== old) return;
    this.logger.warn(
      `scheduler ${old} was declared dead by another scheduler (missed heartbeats); stopping its ${this.running.size} runner(s) and registering again`,
    );
    for (const entry of this.running.values()) entry.run.fence();
    // The sweeper that fenced us requeued them already (none had started).
    this.claimedAhead.takeAll();
    this.schedulerId = undefined;
    this.emit('fenced', old);
    if (this.state === 'running') await this.register();
  }
}
