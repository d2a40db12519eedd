import type { Database } from '../database/connection';
import { finishTasks, type Outcome, type Written } from '../database/lifecycle';

interface Pending {
  taskId: string;
  schedulerId: string;
  outcome: Outcome;
  bytes: number;
  resolve: (written: Written | false) => void;
  reject: (error: unknown) => void;
}

/** A batch stays one modest statement: big results and logs are written on their own. */
const MAX_BATCH = 32;
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Writes outcomes to the database, those that arrive while a write is in flight together in the
 * next one (finishTasks): tasks ending close together share a round trip and a commit, and a lone
 * outcome waits for nothing.
 */
export class OutcomeWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly db: Database) {}

  /** What the write did; false when the task is no longer ours. Rejects when the write failed. */
  write(taskId: string, schedulerId: string, outcome: Outcome): Promise<Written | false> {
    const bytes = (outcome.resultJson?.length ?? 0) + outcome.logs.length + (outcome.error?.stack?.length ?? 0) + 256;
    return new Promise((resolve, reject) => {
      this.queue.push({ taskId, schedulerId, outcome, bytes, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        const written = await finishTasks(
          this.db,
          batch[0].schedulerId,
          batch.map((p) => ({ taskId: p.taskId, outcome: p.outcome })),
        );
        for (const p of batch) p.resolve(written.get(p.taskId) ?? false);
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.writing = false;
  }

  /** The oldest outcome, and after it those of the same scheduler id that fit. */
  private takeBatch(): Pending[] {
    const [first, ...rest] = this.queue;
    const batch = [first];
    const left: Pending[] = [];
    let bytes = first.bytes;
    for (const p of rest) {
      if (batch.length < MAX_BATCH && p.schedulerId === first.schedulerId && bytes + p.bytes <= MAX_BATCH_BYTES) {
        batch.push(p);
        bytes += p.bytes;
      } else {
        left.push(p);
      }
    }
    this.queue = left;
    return batch;
  }
}
