import { releaseClaimedTasks, releaseStrayTasks } from '../database/lifecycle';
import type { Database } from '../database/connection';
import { findOwnedRunningTasks } from '../database/runningTasks';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { HeldTask } from './claimedAhead';
import { StrayClaims } from './strayClaims';

/**
 * Keeps the `running` rows under a scheduler's id true to what it runs (docs/design.md,
 * step 8): tasks it gives back (held ones no slot took) are released off the poll loop, and after a
 * claim or release whose reply was lost, the rows are compared with what the scheduler knows and
 * the others put back (StrayClaims says when). Every write here is fenced by the scheduler id.
 */
export class Reconciliation {
  private readonly watch: StrayClaims;
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    options: { intervalMs: number; settleMs: number },
  ) {
    this.watch = new StrayClaims(options.intervalMs, options.settleMs);
  }

  /** A claim or release failed without an answer: it may have happened anyway. */
  suspect(): void {
    this.watch.suspect(performance.now());
  }

  /** Whether a comparison is due; `now` Infinity: whenever anything is still suspect. */
  due(now = performance.now()): boolean {
    return this.watch.due(now);
  }

  /**
   * Compares the rows under `schedulerId` with `isKnown` (runs, holds or is delivering it) and puts
   * the others back to pending: never handed to a runner here, so no code of theirs ran. The caller
   * makes sure that no claim of its own is in flight (the poll loop runs both, one after the other).
   */
  async reconcile(schedulerId: string, isKnown: (taskId: string) => boolean): Promise<void> {
    const began = performance.now();
    let owned: string[];
    try {
      owned = await findOwnedRunningTasks(this.db, schedulerId);
    } catch (error) {
      this.watch.failed();
      throw error;
    }
    this.watch.checked(began);
    const strays = owned.filter((id) => !isKnown(id));
    if (strays.length === 0) return;
    this.track(
      releaseStrayTasks(this.db, strays, schedulerId).then(
        (released) => {
          if (released)
            this.logger.warn(
              `scheduler ${schedulerId}: put back ${released} task(s) it was recorded as running but never started (a reply from the database was lost): ${strays.join(', ')}`,
            );
        },
        (error) => {
          this.suspect();
          this.logger.warn(
            `could not put back ${strays.length} task(s) never started here; retrying: ${errorMessage(error)}`,
          );
        },
      ),
    );
  }

  /** Back to pending, for any scheduler to claim; if the write fails, reconciliation puts them back. */
  release(held: HeldTask[], why: string): void {
    for (const schedulerId of new Set(held.map((entry) => entry.schedulerId))) {
      const ids = held.filter((entry) => entry.schedulerId === schedulerId).map((entry) => entry.task.id);
      this.track(
        releaseClaimedTasks(this.db, ids, schedulerId).then(
          (released) => this.logger.debug(`released ${released} task(s) claimed ahead: ${why}`),
          (error) => {
            this.suspect();
            this.logger.warn(
              `could not release ${ids.length} task(s) claimed ahead (${why}); retrying: ${errorMessage(error)}`,
            );
          },
        ),
      );
    }
  }

  /** Resolves once the releases in flight are written (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  private track(write: Promise<void>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}
