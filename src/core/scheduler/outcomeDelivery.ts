import { isTransientDatabaseError } from '../database/connection';
import type { Outcome, Written } from '../database/lifecycle';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { backoffDelay, sleep, withinTime } from '../timing';
import type { DatabaseHealth } from './databaseHealth';
import { type JournalEntry, OutcomeJournal } from './outcomeJournal';
import type { TaskWrites } from './taskWrites';

export interface OutcomeDeliveryOptions {
  /** Where outcomes are written, with the started marks of the same turn. */
  writes: TaskWrites;
  journalDir: string;
  logger: Logger;
  health: DatabaseHealth;
  /** Aborted when the scheduler stops: deliveries still failing then give up and stay journalled. */
  stopSignal: AbortSignal;
  /** The database took the outcome and ended or retried the task (false: refused, the task is no longer this scheduler's). */
  onDelivered(taskId: string, outcome: Outcome, written: Written | false): void;
}

/**
 * Gets each finished run's outcome into the database (docs/design.md, step 5): journalled
 * and fsync'd, and written, retrying with backoff through outages until it lands or the
 * write is refused because the task is no longer ours. What is still undelivered when the
 * scheduler stops stays in the journal for the next scheduler started on this host.
 */
export class OutcomeDelivery {
  private readonly journal: OutcomeJournal;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly undelivered = new Set<string>();
  private closed = false;

  constructor(private readonly options: OutcomeDeliveryOptions) {
    this.journal = OutcomeJournal.open(options.journalDir);
  }

  /** Takes over the outcomes that dead scheduler processes of this host left undelivered, and delivers them. */
  adoptOrphans(): void {
    for (const entry of this.journal.adoptOrphans(this.options.logger)) {
      this.options.logger.info(`delivering the outcome of task ${entry.taskId} left by a previous scheduler process`);
      this.deliver(entry);
    }
  }

  deliver(entry: JournalEntry): void {
    const delivery = this.journalAndWrite(entry);
    this.inFlight.add(delivery);
    this.undelivered.add(entry.taskId);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /**
   * A task whose run is over and whose outcome the database has not taken: on its way, or given up
   * on and kept in the journal. Its row is still `running` and must stay so: it ran.
   */
  isDelivering(taskId: string): boolean {
    return this.undelivered.has(taskId);
  }

  /** Waits up to `ms` for the deliveries in flight, then closes the journal (what is undelivered stays in it). */
  async close(ms: number): Promise<void> {
    await withinTime(Promise.all([...this.inFlight]), ms);
    this.closed = true;
    await this.journal.close();
  }

  /**
   * The journal's write and the database's go out together: the outcome is in the turn's write at
   * once instead of after an fsync, and a crash loses nothing it would not have lost otherwise
   * (before its fsync, an outcome held by neither is lost either way). `delivered` waits for the
   * journal's line, so that a replay never reads a delivery before its outcome.
   */
  private async journalAndWrite({ taskId, schedulerId, outcome }: JournalEntry): Promise<void> {
    const { logger, health, stopSignal } = this.options;
    const journalled = this.journal
      .record({ taskId, schedulerId, outcome })
      .catch((error) =>
        logger.error(
          `task ${taskId}: outcome not journalled (${errorMessage(error)}); delivering it without that safety net`,
        ),
      );
    for (let attempt = 0; ; attempt++) {
      try {
        const written = await this.options.writes.finish(taskId, schedulerId, outcome);
        await journalled;
        this.journal.delivered(taskId);
        this.undelivered.delete(taskId);
        health.available();
        if (!written)
          logger.warn(
            `task ${taskId}: outcome refused, the task is no longer owned by scheduler ${schedulerId} (it was declared lost)`,
          );
        this.options.onDelivered(taskId, outcome, written);
        return;
      } catch (error) {
        if (!isTransientDatabaseError(error)) {
          await journalled;
          logger.error(
            `task ${taskId}: outcome could not be written and is kept in ${this.journal.file}: ${errorMessage(error)}`,
          );
          return;
        }
        health.failed(error as Error);
        if (this.closed) return;
        await sleep(backoffDelay(attempt), stopSignal);
        if (stopSignal.aborted && attempt > 3) return;
      }
    }
  }
}
