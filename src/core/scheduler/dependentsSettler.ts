import type { Database } from '../database/connection';
import { settleDependents } from '../database/lifecycle';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { TaskId } from '../task';

/**
 * Settles the tasks waiting for the ones this scheduler ends (lifecycle/dependencies.ts): the
 * tasks ending together in one call, right after their outcomes are written, so that a chain
 * moves on at once. Only while maintenance last saw a task waiting: a scheduler whose
 * applications use no dependencies spends no statement per task on them. Maintenance settles
 * every waiting task each round, so a dependent submitted since (or ended by an expiry, a sweep,
 * another client) waits one round at most.
 */
export class DependentsSettler {
  private ended: TaskId[] = [];
  private settling = false;
  /** Whether maintenance's last round saw a waiting task. */
  private waitingSeen = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** A task this scheduler ended. */
  taskEnded(id: TaskId): void {
    if (!this.waitingSeen) return;
    this.ended.push(id);
    if (!this.settling) void this.settle();
  }

  /** Maintenance's round: every waiting task, a batch at a time. */
  async maintain(): Promise<void> {
    const settled = await settleDependents(this.db);
    this.waitingSeen = settled.waiting;
    if (settled.released + settled.skipped > 0)
      this.logger.debug(`dependencies: ${settled.released} task(s) released, ${settled.skipped} skipped`);
  }

  private async settle(): Promise<void> {
    this.settling = true;
    // After the current turn, so the outcomes delivered together are settled together.
    await Promise.resolve();
    while (this.ended.length > 0) {
      const ids = this.ended.splice(0, 500);
      try {
        await settleDependents(this.db, ids);
      } catch (error) {
        // Maintenance's next round settles them.
        this.logger.debug(`settling the dependents of ${ids.length} task(s) failed: ${errorMessage(error)}`);
      }
    }
    this.settling = false;
  }
}
