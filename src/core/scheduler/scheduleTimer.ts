import type { ApplicationConfig } from '../config';
import type { Database } from '../database/connection';
import { databaseNow, latestTicks, makeTick, pruneTicks } from '../database/scheduleTicks';
import type { Logger } from '../logger';
import { dueTicks, nextTicks } from '../schedules';

/** A pass at least this often: the database's clock is the one that counts, not ours. */
const MAX_DELAY_MS = 30_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * The schedules of the applications a scheduler serves, on a timer of their own: each pass makes
 * the ticks due since the last one (database/scheduleTicks.ts decides which scheduler makes each)
 * and says when the next tick is. Ticks are kept making while the application is paused: their
 * tasks wait, pending, like any other.
 */
export class ScheduleTimer {
  /** The latest tick made of each schedule (by any scheduler), by application and schedule. */
  private readonly last = new Map<string, Date>();
  private readonly loaded = new Set<string>();
  /** The first pass (database time) that watched each schedule: ticks before it were missed. */
  private readonly watchingSince = new Map<string, Date>();
  private changed = new AbortController();
  private nextDelay = MAX_DELAY_MS;
  private prunedAt = 0;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly applications: () => readonly ApplicationConfig[],
  ) {}

  /** Milliseconds until the next pass is due. */
  delay(): number {
    return this.nextDelay;
  }

  /** Aborts when the applications changed: a schedule added or edited gets its pass now. */
  hurry(): AbortSignal {
    return this.changed.signal;
  }

  applicationsChanged(): void {
    this.changed.abort();
    this.changed = new AbortController();
  }

  /** One pass: makes every due tick's task, then computes the delay to the next tick. */
  async pass(): Promise<void> {
    const apps = this.applications().filter((app) => app.schedules.length > 0);
    // A pass that fails (a lost connection) is tried again after the timer's back-off, not after
    // the delay of the last pass that worked: its ticks stay on time.
    this.nextDelay = 0;
    let next = MAX_DELAY_MS;
    if (apps.length === 0) {
      this.nextDelay = next;
      return this.watchingSince.clear();
    }
    const now = await databaseNow(this.db);
    const watched = new Set<string>();
    for (const app of apps) {
      if (!this.loaded.has(app.name)) {
        for (const [name, tick] of await latestTicks(this.db, app.name))
          this.last.set(key(app.name, name), tick.tickAt);
        this.loaded.add(app.name);
      }
      for (const schedule of app.schedules) {
        const at = key(app.name, schedule.name);
        const since = this.watchingSince.get(at) ?? now;
        this.watchingSince.set(at, since);
        watched.add(at);
        for (const tick of dueTicks(schedule, this.last.get(at), now, since)) {
          const id = await makeTick(this.db, app.name, schedule, tick);
          if (id) this.logger.info(`schedule ${app.name}/${schedule.name}: tick ${tick.toISOString()} made task ${id}`);
          this.last.set(at, tick);
        }
        const [upcoming] = nextTicks(schedule, now, 1);
        if (upcoming) next = Math.min(next, upcoming.getTime() - now.getTime());
      }
    }
    // A schedule removed from the config and added again later starts watching afresh.
    for (const at of this.watchingSince.keys()) if (!watched.has(at)) this.watchingSince.delete(at);
    this.nextDelay = Math.max(20, next);
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      const pruned = await pruneTicks(this.db);
      if (pruned) this.logger.debug(`pruned ${pruned} old schedule tick(s)`);
    }
  }
}

const key = (application: string, schedule: string) => `${application}\0${schedule}`;
