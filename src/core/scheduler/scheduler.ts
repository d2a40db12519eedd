import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { ApplicationConfig } from '../config';
import { type Database, SESSION_SETTINGS } from '../database/connection';
import { classifyDatabaseError, isDatabaseError, isTransientDatabaseError } from '../database/databaseErrors';
import { repeatEvery, withinTime } from '../timing';
import { deregisterScheduler } from '../database/schedulers';
import { errorMessage } from '../errors';
import { type Logger, silentLogger } from '../logger';
import { ClaimedAhead } from './claimedAhead';
import { Claimer } from './claimer';
import { DatabaseHealth } from './databaseHealth';
import { DatabaseWake } from './databaseWake';
import { OutcomeDelivery } from './outcomeDelivery';
import { RunnerPool } from './runnerPool';
import { SpareRunners } from './spareRunners';
import { runMaintenance } from './maintenance';
import { runAbortChecks } from './abortChecks';
import { PollLoop } from './pollLoop';
import { Reconciliation } from './reconciliation';
import { EndingRuns } from './runTimes';
import { SchedulerRegistration } from './schedulerRegistration';
import { holdLimitMs, type SchedulerEvents, type SchedulerOptions, withDefaults } from './schedulerOptions';
import type { TaskRunContext } from './taskRun';
import { submitChild } from './childSubmitter';
import { DependentsSettler } from './dependentsSettler';
import { ScheduleTimer } from './scheduleTimer';
import { TaskSlots } from './taskSlots';
import { TaskWrites } from './taskWrites';

/**
 * Claims tasks of its applications, runs each in a runner process, and records how each ended.
 * See docs/design.md "Exactly once, concretely" for the protocol this follows.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly db: Database;
  private readonly options: ReturnType<typeof withDefaults>;
  private readonly logger: Logger;
  private readonly slots: TaskSlots;
  private readonly pool: RunnerPool;
  private readonly spares: SpareRunners;
  private readonly health: DatabaseHealth;
  private readonly runContext: TaskRunContext;
  private applications: ApplicationConfig[];
  private readonly registration: SchedulerRegistration;
  private readonly pollLoop: PollLoop;
  private readonly schedules: ScheduleTimer;
  private readonly dependents: DependentsSettler;
  private readonly claimer: Claimer;
  private delivery: OutcomeDelivery | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly reconciliation: Reconciliation;
  private readonly databaseWake: DatabaseWake;
  private readonly claimedAhead: ClaimedAhead;
  private readonly writes: TaskWrites;
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
    this.spares = new SpareRunners({
      runnerScript: this.runnerScript,
      outputLimitBytes: this.options.outputLimitBytes,
      freeSlots: (app) => (this.state === 'running' ? this.slots.freeFor(app) : 0),
    });
    this.databaseWake = new DatabaseWake(this.db, this.logger);
    this.claimedAhead = new ClaimedAhead(this.options.claimAheadMs, holdLimitMs(this.options.claimAheadMs));
    this.writes = new TaskWrites(this.db, this.logger);
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
    const { heartbeatIntervalMs, heartbeatTimeoutMs, pollIntervalMs } = this.options;
    const stopSignal = this.stopController.signal;
    this.registration = new SchedulerRegistration(
      this.db,
      this.logger,
      this.health,
      {
        active: () => this.state === 'running',
        applications: () => this.registeredApplications(),
        concurrency: () => this.concurrency,
        runningCount: () => this.slots.size,
        registered: (id) => this.emit('registered', id),
        fenced: (old) => this.onFenced(old),
      },
      { heartbeatIntervalMs, heartbeatTimeoutMs, stopSignal },
    );
    this.claimer = new Claimer(
      this.db,
      this.health,
      this.databaseWake,
      this.claimedAhead,
      this.reconciliation,
      {
        claiming: () => this.state === 'running',
        schedulerId: () => this.schedulerId,
        applications: () => this.applications,
        concurrency: () => this.concurrency,
        runningCount: () => this.slots.size,
        runningOf: (app) => this.slots.runningOf(app),
        start: (task, app, schedulerId) => this.slots.start(task, app, schedulerId, { markedInClaim: true }),
        startHeld: () => this.slots.startHeld(),
        claimed: (application, count) => this.emit('claimed', application, count),
        conflicted: (application) => this.emit('claim-conflict', application),
      },
      { heartbeatTimeoutMs },
    );
    this.schedules = new ScheduleTimer(this.db, this.logger, () => this.applications);
    this.dependents = new DependentsSettler(this.db, this.logger);
    this.pollLoop = new PollLoop(
      {
        polling: () => this.state === 'running' || (this.state === 'stopping' && !stopSignal.aborted),
        poll: (woken) => this.poll(woken),
        waitForWork: (maxWaitMs, signal) => this.claimer.waitForWork(maxWaitMs, signal),
        onError: (error, where) => this.handleLoopError(error, where),
      },
      { intervalMs: pollIntervalMs, stopSignal },
    );
    const { abortGraceMs, killGraceMs, progressWriteIntervalMs, resultLimitBytes, outputLimitBytes } = this.options;
    this.runContext = {
      db: this.db,
      pool: this.pool,
      spares: this.spares,
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
      submitChild: (parent, app, request) =>
        submitChild(
          { db: this.db, health: this.health, wake: () => this.wake(), cancelled: () => this.state === 'stopped' },
          parent,
          app,
          request,
        ),
    };
    this.slots = new TaskSlots(this.runContext, this.writes, this.claimedAhead, this.endingRuns, this.logger, {
      starting: () => this.state === 'running',
      concurrency: () => this.concurrency,
      deliver: (ended) => this.delivery!.deliver(ended),
      freed: () => {
        this.spares.refill(this.applications);
        this.databaseWake.sawWork();
        this.wake();
      },
    });
  }

  private get runnerScript(): string {
    return this.options.runnerScript ?? path.join(__dirname, 'runner.js');
  }

  get id(): string | undefined {
    return this.registration.id;
  }

  private get schedulerId(): string | undefined {
    return this.registration.id;
  }

  get runningCount(): number {
    return this.slots.size;
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
    return this.slots.ids();
  }

  /** Registers (retrying while the database is away), adopts orphaned outcomes, and starts polling. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('A Scheduler can be started once.');
    this.state = 'running';
    this.delivery = new OutcomeDelivery({
      writes: this.writes,
      journalDir: this.options.journalDir,
      logger: this.logger,
      health: this.health,
      stopSignal: this.stopController.signal,
      onDelivered: (taskId, outcome, written) => {
        const run = this.endingRuns.take(taskId);
        if (written === 'ended') {
          this.dependents.taskEnded(taskId);
          this.emit('task-ended', taskId, outcome.state, run);
        }
        if (written === 'retried') this.emit('task-retrying', taskId, outcome.retry!.attempt + 1, run);
      },
    });
    this.delivery.adoptOrphans();
    for (const app of this.applications)
      for (const problem of app.scheduleProblems)
        this.logger.error(
          `${app.name}: ${problem.schedule}${problem.field ? `.${problem.field}` : ''} ${problem.message}; it does not run`,
        );
    await this.registration.register();
    this.spares.refill(this.applications);
    const onError = (where: string) => (error: unknown) => this.handleLoopError(error, where);
    const stopSignal = this.stopController.signal;
    this.loops = [
      this.pollLoop.run(),
      this.registration.heartbeats(onError('heartbeat')),
      runMaintenance(stopSignal, {
        db: this.db,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
        health: this.health,
        logger: this.logger,
        dependents: this.dependents,
        maintainer: () => (this.state === 'running' ? this.schedulerId : undefined),
        activity: () => ({
          busy: this.slots.size + this.claimedAhead.size > 0,
          idleMs: this.databaseWake.idleMs(),
        }),
        onError: onError('maintenance'),
      }),
      repeatEvery(
        stopSignal,
        () => this.schedules.delay(),
        () => this.schedules.pass(),
        { onError: onError('schedules'), backOff: true, hurry: () => this.schedules.hurry() },
      ),
      runAbortChecks(stopSignal, {
        db: this.db,
        intervalMs: this.options.pollIntervalMs,
        checker: () => (this.slots.size + this.claimedAhead.size > 0 ? this.schedulerId : undefined),
        abort: (taskId, reason) => this.abortTask(taskId, reason),
        onError: onError('abort checks'),
      }),
    ];
  }

  /** Polls now instead of at the next interval (a task was just submitted in this process). */
  wake(): void {
    this.pollLoop.wake();
  }

  /** Replaces the applications served (e.g. a config file changed); running tasks are unaffected. */
  setApplications(applications: ApplicationConfig[]): void {
    this.applications = [...applications];
    this.pool.retain(this.applications);
    this.spares.retain(this.applications);
    this.spares.refill(this.applications);
    this.schedules.applicationsChanged();
    // Claimed under the old configuration: for any scheduler (this one included) to claim again.
    this.reconciliation.release(this.claimedAhead.takeAll(), 'the applications changed');
    this.registration.announce();
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
    if (held) this.slots.start(held.task, held.app, held.schedulerId);
    const run = this.slots.run(taskId);
    run?.abort(reason, options);
    return run !== undefined;
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
    this.logger.info(`scheduler ${this.schedulerId}: stopping (${this.slots.size} running)`);
    this.reconciliation.release(this.claimedAhead.takeAll(), 'the scheduler is stopping');
    this.wake();
    await this.claimer.settled();
    const timeoutMs = options.timeoutMs ?? this.options.shutdownTimeoutMs;
    if (!(await withinTime(this.slots.allDone(), timeoutMs))) {
      for (const taskId of this.slots.ids()) this.abortTask(taskId, 'scheduler shutting down');
      await this.slots.allDone();
    }
    this.stopController.abort();
    this.databaseWake.close();
    this.pool.close();
    this.spares.close();
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
    if (this.state !== 'running') return 0;
    return this.claimer.claim(woken);
  }

  /** Runs in the poll loop, between claims, so that no claim of ours is in flight (Reconciliation). */
  private async reconcile(): Promise<void> {
    if (!this.schedulerId) return;
    await this.reconciliation.reconcile(
      this.schedulerId,
      (id) => this.slots.accountsFor(id) || this.claimedAhead.has(id) || this.delivery!.isDelivering(id),
    );
  }

  private async handleLoopError(error: unknown, where: string): Promise<void> {
    if (isTransientDatabaseError(error)) {
      this.health.failed(error as Error);
      return;
    }
    if (isDatabaseError(error)) this.emit('database-error', classifyDatabaseError(error), error);
    this.logger.error(`${where}: ${errorMessage(error)}`);
  }

  /**
   * Another scheduler declared us dead and settled our tasks (requeued or lost). Our runners' work
   * can no longer be recorded: stop them; the registration comes back under a new id.
   */
  private onFenced(old: string): void {
    this.slots.fenceAll();
    // The sweeper that fenced us requeued them already (none had started).
    this.claimedAhead.takeAll();
    this.emit('fenced', old);
  }
}
