import type { TaskProgress } from '../task';

/**
 * Sends a task's progress at most once per interval, and always the latest value: a task may
 * report progress in a tight loop, and each message is an IPC write and a database update.
 */
export class ProgressThrottle {
  private pending: TaskProgress | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sendProgress: (progress: TaskProgress) => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  queue(progress: TaskProgress): void {
    this.pending = progress;
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Sends the value still waiting, if any, now: the final message must come after it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const latest = this.pending;
    this.pending = undefined;
    if (latest) await this.sendProgress(latest);
  }
}
