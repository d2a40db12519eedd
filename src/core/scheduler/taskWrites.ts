import type { Database } from '../database/connection';
import { finishAndStart, type Outcome, type StartMark, type Written } from '../database/lifecycle';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { EffectiveTaskOptions } from '../retries';

interface MarkRequest {
  taskId: string;
  schedulerId: string;
  version: string;
  stamp: EffectiveTaskOptions | undefined;
  resolve: (mark: StartMark | undefined) => void;
}

interface OutcomeRequest {
  taskId: string;
  schedulerId: string;
  outcome: Outcome;
  bytes: number;
  resolve: (written: Written | false) => void;
  reject: (error: unknown) => void;
}

/** A write stays one modest statement: big results and logs go on their own. */
const MAX_OUTCOMES = 32;
const MAX_OUTCOME_BYTES = 256 * 1024;

/**
 * The started marks (docs/design.md, step 2) and the outcomes (step 5) a scheduler writes, in
 * turns: everything asked for during one turn of the event loop, and while the previous write was
 * in flight, goes in the next one (finishAndStart: one statement and one commit). A slot freed by a
 * short task asks for its outcome and for its successor's mark in the same turn, so the commit
 * that records the one starts the other; the measurements: docs/design.md, "Turns".
 *
 * A mark that fails resolves `undefined`: the task then takes its own retrying mark (TaskRun), so a
 * claimed task never waits on a write that will not come. An outcome that fails rejects: its
 * delivery retries it (OutcomeDelivery).
 */
export class TaskWrites {
  private marks: MarkRequest[] = [];
  private outcomes: OutcomeRequest[] = [];
  private writing = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** `stamp`: what the mark stamps on the task's row (lifecycle/startStamp.ts). */
  mark(
    taskId: string,
    schedulerId: string,
    version: string,
    stamp?: EffectiveTaskOptions,
  ): Promise<StartMark | undefined> {
    return new Promise((resolve) => {
      this.marks.push({ taskId, schedulerId, version, stamp, resolve });
      this.startWriting();
    });
  }

  /** What the write did; false when the task is no longer ours. Rejects when the write failed. */
  finish(taskId: string, schedulerId: string, outcome: Outcome): Promise<Written | false> {
    const bytes = (outcome.resultJson?.length ?? 0) + outcome.logs.length + (outcome.error?.stack?.length ?? 0) + 256;
    return new Promise((resolve, reject) => {
      this.outcomes.push({ taskId, schedulerId, outcome, bytes, resolve, reject });
      this.startWriting();
    });
  }

  private startWriting(): void {
    if (this.writing) return;
    this.writing = true;
    // After this turn of the event loop, so that what it asked for shares one write.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.marks.length > 0 || this.outcomes.length > 0) {
      const { schedulerId, marks, outcomes } = this.takeTurn();
      try {
        const { written, marks: marked } = await finishAndStart(
          this.db,
          schedulerId,
          outcomes.map((request) => ({ taskId: request.taskId, outcome: request.outcome })),
          marks.map((request) => ({ taskId: request.taskId, version: request.version, stamp: request.stamp })),
        );
        for (const request of marks) request.resolve(marked.get(request.taskId));
        for (const request of outcomes) request.resolve(written.get(request.taskId) ?? false);
      } catch (error) {
        if (marks.length > 0)
          this.logger.debug(
            `started mark for ${marks.length} task(s) failed, each retries its own: ${errorMessage(error)}`,
          );
        for (const request of marks) request.resolve(undefined);
        for (const request of outcomes) request.reject(error);
      }
    }
    this.writing = false;
  }

  /**
   * What the next write carries: the scheduler id of the oldest request (a statement is fenced by
   * one), its marks, and its outcomes oldest first while they fit.
   */
  private takeTurn(): { schedulerId: string; marks: MarkRequest[]; outcomes: OutcomeRequest[] } {
    const schedulerId = (this.outcomes[0] ?? this.marks[0]).schedulerId;
    const marks = this.marks.filter((request) => request.schedulerId === schedulerId);
    this.marks = this.marks.filter((request) => request.schedulerId !== schedulerId);
    const outcomes: OutcomeRequest[] = [];
    const left: OutcomeRequest[] = [];
    let bytes = 0;
    for (const request of this.outcomes) {
      const fits =
        request.schedulerId === schedulerId &&
        outcomes.length < MAX_OUTCOMES &&
        (outcomes.length === 0 || bytes + request.bytes <= MAX_OUTCOME_BYTES);
      if (fits) {
        outcomes.push(request);
        bytes += request.bytes;
      } else {
        left.push(request);
      }
    }
    this.outcomes = left;
    return { schedulerId, marks, outcomes };
  }
}
