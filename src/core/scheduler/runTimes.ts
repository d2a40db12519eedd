import type { Task } from '../task';
import type { EndedRun } from './schedulerOptions';

/**
 * How long a task waited before a runner was handed it, in ms: from its `created_at` (or
 * `run_after`, if later) to its claim on the database clock, then from the claim to `startedAt` on
 * this host's clock (`claimedAt`, `startedAt`: performance.now()). Host clocks are never compared
 * with the database's: each stretch is measured on one clock.
 */
export function waitBeforeStart(task: Task, claimedAt: number, startedAt: number): number {
  const due = Math.max(task.createdAt.getTime(), task.runAfter.getTime());
  const untilClaim = task.claimedAt ? Math.max(0, task.claimedAt.getTime() - due) : 0;
  return untilClaim + Math.max(0, startedAt - claimedAt);
}

/**
 * The runs of this scheduler whose outcome is on its way to the database, for what 'task-ended'
 * says once it is written. An outcome given up on (kept in the journal when the scheduler stops)
 * leaves its entry here, one per such task, until the scheduler is gone.
 */
export class EndingRuns {
  private readonly runs = new Map<string, { application: string; task: string; startedAt: number | undefined }>();

  /** `startedAt`: performance.now() when a runner was handed the task; undefined if none was. */
  add(task: Task, startedAt: number | undefined): void {
    this.runs.set(task.id, { application: task.application, task: task.task, startedAt });
  }

  /** The run whose outcome was just written (or refused), with its run time until now. */
  take(taskId: string): EndedRun | undefined {
    const run = this.runs.get(taskId);
    if (!run) return undefined;
    this.runs.delete(taskId);
    return {
      application: run.application,
      task: run.task,
      runMs: run.startedAt === undefined ? undefined : performance.now() - run.startedAt,
    };
  }
}
