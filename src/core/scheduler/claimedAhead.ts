import type { ApplicationConfig } from '../config';
import { InvalidInputError } from '../errors';
import type { Task } from '../task';

export interface HeldTask {
  task: Task;
  app: ApplicationConfig;
  /** The id that claimed it: its mark and release stay fenced by it. */
  schedulerId: string;
  /** performance.now() when it was claimed. */
  heldSince: number;
}

/** Weight of the newest run in an application's average run time, and of the newest claim in the claims'. */
const SMOOTHING = 0.2;
/** However short its tasks, a scheduler holds at most this many tasks per slot. */
const MOST_PER_SLOT = 2;
/**
 * Far from the database, a claim takes longer than the configured horizon: the horizon is then
 * this many claims, so that a freed slot finds a held task instead of waiting for a claim.
 */
const CLAIMS_COVERED = 2;
/** The hold limit is at least this many horizons. */
const HORIZONS_HELD = 10;

/**
 * Tasks claimed before a slot is free for them, so that a slot freed by a short task starts the
 * next one at once instead of waiting for a claim, and claims take full batches instead of the few
 * slots freed during the last one. What it buys: docs/design.md, "Claiming ahead".
 *
 * A held task is claimed but not started: exactly the state between a claim and its started mark,
 * so the protocol is unchanged. If this scheduler dies, a sweeper requeues it (no user code ran).
 *
 * Holding delays tasks another scheduler could start, so a scheduler holds only what it expects to
 * start within its horizon: slots × horizon ÷ the application's average run time, at most two per
 * slot. The horizon is `horizonMs` (`claimAheadMs`, 50 by default: nothing held for tasks of a
 * second or more), or two claims' time when claims take longer than that (the round trip to the
 * database is long): then a slot freed waits for its held task's started mark, one round trip,
 * instead of a claim's four. A task held longer than the hold limit (the average was wrong: a long
 * task took the slot) is released to `pending`, and the application claims nothing ahead until a
 * run tells its average again.
 */
export class ClaimedAhead {
  private held: HeldTask[] = [];
  /** Average run time in ms per application, from the runs of this scheduler. */
  private readonly averageRunMs = new Map<string, number>();
  /** Average time of this scheduler's claims, in ms. */
  private averageClaimMs: number | undefined;

  constructor(
    readonly horizonMs: number,
    private readonly minimumHoldLimitMs: number,
  ) {
    if (!Number.isFinite(horizonMs) || horizonMs < 0) {
      throw new InvalidInputError(
        `claimAheadMs must be a number of milliseconds, 0 or more (0 claims only for free slots), got ${horizonMs}.`,
      );
    }
  }

  get size(): number {
    return this.held.length;
  }

  heldOf(app: string): number {
    let count = 0;
    for (const entry of this.held) if (entry.app.name === app) count++;
    return count;
  }

  /** The horizon in use: `horizonMs`, or longer while claims take longer (0: claiming ahead is off). */
  get currentHorizonMs(): number {
    if (this.horizonMs <= 0) return 0;
    return Math.max(this.horizonMs, CLAIMS_COVERED * (this.averageClaimMs ?? 0));
  }

  /** How long a task may be held before it is released: the configured limit, or more for a longer horizon. */
  get holdLimitMs(): number {
    return Math.max(this.minimumHoldLimitMs, HORIZONS_HELD * this.currentHorizonMs);
  }

  /** How many tasks of `app` to claim beyond its free slots, given how many slots it may use. */
  wanted(app: string, slots: number): number {
    const average = this.averageRunMs.get(app);
    const horizon = this.currentHorizonMs;
    if (horizon <= 0 || average === undefined || slots <= 0) return 0;
    const target = Math.min(MOST_PER_SLOT * slots, Math.floor((slots * horizon) / Math.max(average, 0.1)));
    const held = this.heldOf(app);
    // Refilled once half used, so that claims stay large batches instead of one task per freed slot.
    return held > target / 2 ? 0 : target - held;
  }

  /** A claim took `ms` (round trips included): the horizon follows. */
  recordClaim(ms: number): void {
    const average = this.averageClaimMs;
    this.averageClaimMs = average === undefined ? ms : average + SMOOTHING * (ms - average);
  }

  recordRun(app: string, ms: number): void {
    const average = this.averageRunMs.get(app);
    this.averageRunMs.set(app, average === undefined ? ms : average + SMOOTHING * (ms - average));
  }

  hold(tasks: Task[], app: ApplicationConfig, schedulerId: string, now: number): void {
    for (const task of tasks) this.held.push({ task, app, schedulerId, heldSince: now });
  }

  /** The longest-held task whose application has room, in claim order. */
  take(hasRoom: (app: ApplicationConfig) => boolean): HeldTask | undefined {
    const index = this.held.findIndex((entry) => hasRoom(entry.app));
    return index < 0 ? undefined : this.held.splice(index, 1)[0];
  }

  has(taskId: string): boolean {
    return this.held.some((entry) => entry.task.id === taskId);
  }

  remove(taskId: string): HeldTask | undefined {
    const index = this.held.findIndex((entry) => entry.task.id === taskId);
    return index < 0 ? undefined : this.held.splice(index, 1)[0];
  }

  /** Takes the tasks held longer than the limit; their applications claim nothing ahead until a run ends. */
  takeOverdue(now: number): HeldTask[] {
    const limit = this.holdLimitMs;
    const overdue = this.held.filter((entry) => now - entry.heldSince >= limit);
    if (overdue.length === 0) return [];
    this.held = this.held.filter((entry) => now - entry.heldSince < limit);
    for (const entry of overdue) this.averageRunMs.delete(entry.app.name);
    return overdue;
  }

  takeAll(): HeldTask[] {
    const all = this.held;
    this.held = [];
    return all;
  }
}
