import type { ApplicationConfig } from '../config';
import type { Database } from '../database/connection';
import { databaseNow, latestTicks, makeTick, pruneTicks } from '../database/scheduleTicks';
import type { Logger } from '../logger';
import { dueTicks, nextTicks } from '../schedules';

/** A pass at least this often, so that a schedule added by a config change starts in time. */
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

  /** One pass: makes every due tick's task, then computes the delay to the next tick. */
  async pass(): Promise<void> {
    const apps = this.applications().filter((app) => app.schedules.length > 0);
    this.nextDelay = MAX_DELAY_MS;
    if (apps.length === 0) return;
    const now = await databaseNow(this.db);
    for (const app of apps) {
      if (!this.loaded.has(app.name)) {
        for (const [name, tick] of await latestTicks(this.db, app.name))
          this.last.set(key(app.name, name), tick.tickAt);
        this.loaded.add(app.name);
      }
      for (const schedule of app.schedules) {
        const at = key(app.name, schedule.name);
        for (const tick of dueTicks(schedule, this.last.get(at), now)) {
          const id = await makeTick(this.db, app.name, schedule, tick);
          if (id) this.logger.info(`schedule ${app.name}/${schedule.name}: tick ${tick.toISOString()} made task ${id}`);
          this.last.set(at, tick);
        }
        const [upcoming] = nextTicks(schedule, now, 1);
        if (upcoming) this.nextDelay = Math.min(this.nextDelay, upcoming.getTime() - now.getTime());
      }
    }
    this.nextDelay = Math.max(20, this.nextDelay);
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      const pruned = await pruneTicks(this.db);
      if (pruned) this.logger.debug(`pruned ${pruned} old schedule tick(s)`);
    }
  }
}

const key = (application: string, schedule: string) => `${application}\0${schedule}`;
