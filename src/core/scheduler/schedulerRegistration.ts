import * as os from 'node:os';
import type { Database } from '../database/connection';
import { isTransientDatabaseError } from '../database/databaseErrors';
import { heartbeat, registerScheduler, type SchedulerRegistration as Registration } from '../database/schedulers';
import type { Logger } from '../logger';
import { backoffDelay, repeatEvery, sleep } from '../timing';
import type { DatabaseHealth } from './databaseHealth';

/** What the registration asks of its scheduler. */
export interface RegisteredScheduler {
  /** Registering (again) is wanted: the scheduler runs. */
  active(): boolean;
  applications(): Registration['applications'];
  concurrency(): number;
  runningCount(): number;
  registered(id: string): void;
  /** Another scheduler declared `old` dead and settled its tasks: stop what ran under it. */
  fenced(old: string): void;
}

/**
 * This scheduler's row in the scheduler table: registered at start (retrying while the database is
 * away), kept alive by a heartbeat on its own timer, and registered again under a new id when a
 * heartbeat finds the row gone (the scheduler was declared dead: docs/design.md, step 4).
 */
export class SchedulerRegistration {
  private current: string | undefined;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly health: DatabaseHealth,
    private readonly scheduler: RegisteredScheduler,
    private readonly options: { heartbeatIntervalMs: number; heartbeatTimeoutMs: number; stopSignal: AbortSignal },
  ) {}

  get id(): string | undefined {
    return this.current;
  }

  async register(): Promise<void> {
    for (let attempt = 0; this.scheduler.active(); attempt++) {
      try {
        const applications = this.scheduler.applications();
        this.current = await registerScheduler(this.db, {
          host: os.hostname(),
          pid: process.pid,
          applications,
          concurrency: this.scheduler.concurrency(),
        });
        this.health.available();
        const served = applications.map((a) => `${a.name}@${a.version}`).join(', ');
        this.logger.info(`scheduler ${this.current} registered for ${served || 'no application'}`);
        this.scheduler.registered(this.current);
        return;
      } catch (error) {
        if (!isTransientDatabaseError(error)) throw error;
        this.health.failed(error as Error);
        await sleep(backoffDelay(attempt), this.options.stopSignal);
      }
    }
  }

  /** Beats until the scheduler stops; `onError` hears of what failed. */
  heartbeats(onError: (error: unknown) => Promise<void>): Promise<void> {
    const interval = () => this.options.heartbeatIntervalMs;
    return repeatEvery(this.options.stopSignal, interval, () => this.beat(), { onError, waitFirst: true });
  }

  /** Tells the database what this scheduler serves now (the applications changed). */
  announce(): void {
    if (!this.current) return;
    heartbeat(this.db, this.current, this.scheduler.runningCount(), this.scheduler.applications()).catch(
      () => undefined,
    );
  }

  private async beat(): Promise<void> {
    const id = this.current;
    if (!id || this.options.stopSignal.aborted) return;
    // A heartbeat stuck on a dead connection would let our row go stale: it gets a third of the timeout.
    const alive = await heartbeat(this.db, id, this.scheduler.runningCount(), undefined, {
      timeoutMs: Math.max(1000, this.options.heartbeatTimeoutMs / 3),
    });
    this.health.available();
    if (!alive) await this.fenced(id);
  }

  private async fenced(old: string): Promise<void> {
    if (this.current !== old) return;
    this.logger.warn(
      `scheduler ${old} was declared dead by another scheduler (missed heartbeats); stopping its ${this.scheduler.runningCount()} runner(s) and registering again`,
    );
    this.current = undefined;
    this.scheduler.fenced(old);
    if (this.scheduler.active()) await this.register();
  }
}
