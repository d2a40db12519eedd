import { keyTemplates } from '../concurrency';
import type { ApplicationConfig } from '../config';
import type { Database } from '../database/connection';
import { isConflict } from '../database/databaseErrors';
import { claimTasks, hasClaimableTask } from '../database/lifecycle';
import { startStamp } from '../retries';
import type { Task } from '../task';
import { sleep } from '../timing';
import type { ClaimedAhead } from './claimedAhead';
import type { DatabaseHealth } from './databaseHealth';
import type { DatabaseWake } from './databaseWake';
import type { Reconciliation } from './reconciliation';

/** What the claimer asks of its scheduler. */
export interface ClaimingScheduler {
  /** Claiming is wanted: the scheduler runs (it is not stopping). */
  claiming(): boolean;
  schedulerId(): string | undefined;
  applications(): readonly ApplicationConfig[];
  concurrency(): number;
  runningCount(): number;
  runningOf(app: ApplicationConfig): number;
  /** Runs a task whose claim marked it started. */
  start(task: Task, app: ApplicationConfig, schedulerId: string): void;
  /** Starts held tasks in the free slots. */
  startHeld(): void;
  claimed(application: string, count: number): void;
  conflicted(application: string): void;
}

/**
 * Claims tasks for the free slots of each application (and ahead of them: ClaimedAhead), and
 * waits for the database to say there are some. One claim at a time: a slot freed while a claim
 * is in flight waits for the next one, which takes every slot freed meanwhile; overlapping claims
 * made smaller batches at a higher cost per task (docs/design.md, "One claim at a time").
 */
export class Claimer {
  /** Applications whose last claim filled every slot offered: more may be waiting, skip the probe. */
  private readonly busyApplications = new Set<string>();
  /** The claim in flight, if any. */
  private inFlight: Promise<number> | undefined;

  constructor(
    private readonly db: Database,
    private readonly health: DatabaseHealth,
    private readonly databaseWake: DatabaseWake,
    private readonly claimedAhead: ClaimedAhead,
    private readonly reconciliation: Reconciliation,
    private readonly scheduler: ClaimingScheduler,
    private readonly options: { heartbeatTimeoutMs: number },
  ) {}

  /**
   * Claims for each application with free slots when `woken` (something says there may be work) or
   * its last claim was full. Otherwise the database's wait has just said there is nothing; without
   * that wait (not available), a one-statement probe asks first. Returns how many it claimed.
   */
  async claim(woken: boolean): Promise<number> {
    const claim = this.claimAll(woken);
    this.inFlight = claim;
    try {
      return await claim;
    } finally {
      if (this.inFlight === claim) this.inFlight = undefined;
    }
  }

  /**
   * Resolves once no claim is in flight. A stopping scheduler waits for it: the tasks it marked
   * started must reach their slots (and run) before the stop waits for the running ones, or they
   * would still be `running` under a scheduler that deregistered, and end `lost`.
   */
  async settled(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  private async claimAll(woken: boolean): Promise<number> {
    const scheduler = this.scheduler;
    scheduler.startHeld();
    let total = 0;
    for (const app of scheduler.applications()) {
      if (!scheduler.claiming()) return total;
      const concurrency = scheduler.concurrency();
      const free = Math.min(concurrency - scheduler.runningCount(), app.concurrency - scheduler.runningOf(app));
      const limit = Math.max(0, free);
      const busy = this.busyApplications.has(app.name);
      const ahead = busy ? this.claimedAhead.wanted(app.name, Math.min(concurrency, app.concurrency)) : 0;
      if (limit + ahead <= 0) continue;
      const schedulerId = scheduler.schedulerId();
      if (!schedulerId) return total;
      const request = { schedulerId, application: app.name, version: app.version };
      if (!woken && !busy) {
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
        stampFor: (task: Task) => startStamp(task, app.taskOptions),
        concurrency: { limits: app.concurrencyLimits, templates: keyTemplates(app.taskOptions) },
      };
      const claimStarted = performance.now();
      const claimed = await claimTasks(this.db, claim, { onConflict: () => scheduler.conflicted(app.name) }).catch(
        (error) => {
          // No answer: the claim may have committed anyway (a lost reply). A conflict was rolled back.
          if (!isConflict(error)) this.reconciliation.suspect();
          throw error;
        },
      );
      this.health.available();
      this.claimedAhead.recordClaim(performance.now() - claimStarted);
      scheduler.claimed(app.name, claimed.length);
      if (claimed.length === limit + ahead) this.busyApplications.add(app.name);
      else this.busyApplications.delete(app.name);
      total += claimed.length;
      if (claimed.length > 0) this.databaseWake.sawWork();
      // Under the id that claimed them, even if we are fenced and re-register meanwhile. Slots only
      // free up while the claim is in flight, so those it started have theirs.
      for (const task of claimed.slice(0, limit)) scheduler.start(task, app, schedulerId);
      this.claimedAhead.hold(claimed.slice(limit), app, schedulerId, performance.now());
      scheduler.startHeld();
    }
    return total;
  }

  /**
   * Until the next poll is due: true as soon as the database reports a task we could claim. Falls
   * back to sleeping when waiting in the database is not available, or no slot is free (a task
   * ending here wakes us then).
   */
  async waitForWork(maxWaitMs: number, signal: AbortSignal): Promise<boolean> {
    const schedulerId = this.scheduler.schedulerId();
    const applications =
      this.scheduler.claiming() && schedulerId && this.databaseWake.available ? this.applicationsWithFreeSlots() : [];
    if (!schedulerId || applications.length === 0) {
      await sleep(maxWaitMs, signal);
      return false;
    }
    const found = await this.databaseWake.wait(schedulerId, applications, maxWaitMs, signal);
    this.health.available();
    return found;
  }

  private applicationsWithFreeSlots(): { name: string; version: string }[] {
    if (this.scheduler.runningCount() >= this.scheduler.concurrency()) return [];
    return this.scheduler
      .applications()
      .filter((app) => this.scheduler.runningOf(app) < app.concurrency)
      .map((app) => ({ name: app.name, version: app.version }));
  }
}
