import type { ApplicationConfig } from '../config';
import type { Outcome, StartMark } from '../database/lifecycle';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { Task, TaskId } from '../task';
import type { ClaimedAhead } from './claimedAhead';
import type { EndingRuns } from './runTimes';
import { TaskRun, type TaskRunContext } from './taskRun';
import type { TaskWrites } from './taskWrites';

/** What the slots ask of their scheduler. */
export interface SlotOwner {
  /** Starting tasks is wanted: the scheduler runs (it is not stopping). */
  starting(): boolean;
  concurrency(): number;
  deliver(ended: { taskId: TaskId; schedulerId: string; outcome: Outcome }): void;
  /** A slot is free again. */
  freed(): void;
}

interface RunningTask {
  run: TaskRun;
  /** Settles once the run is over and its outcome handed to delivery. */
  done: Promise<void>;
}

/** The tasks a scheduler runs, one runner each, and how a claimed or held task takes a slot. */
export class TaskSlots {
  private readonly running = new Map<TaskId, RunningTask>();
  /** Tasks whose run failed in the scheduler itself after a runner had them (rare; never strays). */
  private readonly ranWithoutOutcome = new Set<TaskId>();

  constructor(
    private readonly runContext: TaskRunContext,
    private readonly writes: TaskWrites,
    private readonly claimedAhead: ClaimedAhead,
    private readonly endingRuns: EndingRuns,
    private readonly logger: Logger,
    private readonly owner: SlotOwner,
  ) {}

  get size(): number {
    return this.running.size;
  }

  ids(): TaskId[] {
    return [...this.running.keys()];
  }

  run(taskId: TaskId): TaskRun | undefined {
    return this.running.get(taskId)?.run;
  }

  /** Whether a task under our id is accounted for here: running, or ran without a known outcome. */
  accountsFor(taskId: TaskId): boolean {
    return this.running.has(taskId) || this.ranWithoutOutcome.has(taskId);
  }

  runningOf(app: ApplicationConfig): number {
    let count = 0;
    for (const entry of this.running.values()) if (entry.run.app.name === app.name) count++;
    return count;
  }

  /** How many more tasks of `app` may start now, within its own limit and the scheduler's. */
  freeFor(app: ApplicationConfig): number {
    return Math.min(this.owner.concurrency() - this.running.size, app.concurrency - this.runningOf(app));
  }

  allDone(): Promise<unknown> {
    return Promise.all([...this.running.values()].map((entry) => entry.done));
  }

  /** Our id was declared dead: no outcome of ours can be recorded any more. */
  fenceAll(): void {
    for (const entry of this.running.values()) entry.run.fence();
  }

  /** Starts held tasks in the free slots, oldest first. */
  startHeld(): void {
    while (this.owner.starting() && this.running.size < this.owner.concurrency()) {
      const held = this.claimedAhead.take((app) => this.runningOf(app) < app.concurrency);
      if (!held) return;
      this.start(held.task, held.app, held.schedulerId, { claimedAt: held.heldSince });
    }
  }

  /** `claimedAt`: performance.now() when its claim returned, if not just now. */
  start(
    task: Task,
    app: ApplicationConfig,
    schedulerId: string,
    options: { markedInClaim?: boolean; claimedAt?: number } = {},
  ): void {
    const run = new TaskRun(task, app, schedulerId, this.runContext, options.claimedAt);
    const startedAt = performance.now();
    const mark = options.markedInClaim
      ? Promise.resolve<StartMark>('started')
      : this.writes.mark(task.id, schedulerId, app.version, run.stamp);
    const done = run
      .run(mark)
      .then((outcome) => {
        if (!outcome) return;
        this.claimedAhead.recordRun(app.name, performance.now() - startedAt);
        this.endingRuns.add(task, run.startedAt);
        this.owner.deliver({ taskId: task.id, schedulerId, outcome });
      })
      .catch((error) => {
        this.logger.error(`task ${task.id}: ${errorMessage(error)}`);
        // Its outcome is unknown; reconciliation must never take it for one that did not run.
        if (run.handedToRunner) this.ranWithoutOutcome.add(task.id);
      })
      .finally(() => {
        run.dispose();
        this.running.delete(task.id);
        this.startHeld();
        this.owner.freed();
      });
    this.running.set(task.id, { run, done });
  }
}
