import type { ApplicationConfig } from '../config';
import { runnerKey } from './runnerPool';
import { RunnerProcess } from './runnerProcess';

export interface SpareRunnersOptions {
  runnerScript: string;
  outputLimitBytes: number;
  /** How many more tasks of `app` this scheduler could start now. */
  freeSlots(app: ApplicationConfig): number;
}

/**
 * A fresh runner process started ahead for each process-per-task application with a free slot:
 * Node booted, the runner loaded, the application's environment set, and no module of the
 * application imported. A task takes it instead of spawning its own, so its start pays only its
 * tasks module's import; the runner still runs that one task and exits, never sharing its process
 * with another task. The next one starts at once, while the application has a free slot.
 *
 * A spare waits on its IPC channel, using no CPU; it is replaced when its application's config or
 * version changes (its key no longer matches), and stopped with the scheduler. What it saves:
 * docs/design.md, "Spare runners".
 */
export class SpareRunners {
  private readonly spares = new Map<string, RunnerProcess>();
  private closed = false;

  constructor(private readonly options: SpareRunnersOptions) {}

  /** The application's spare if it is still there, else a new process; then the next spare, if a slot is free. */
  take(app: ApplicationConfig): RunnerProcess {
    const key = runnerKey(app);
    const spare = this.spares.get(key);
    this.spares.delete(key);
    const runner = spare?.alive ? spare : this.spawn(app);
    // After the task's start message is on its way (a spawn blocks this process for milliseconds),
    // and counting the task just started.
    setImmediate(() => {
      if (this.options.freeSlots(app) > 0) this.ensure(app);
    });
    return runner;
  }

  /** Starts a spare for each process-per-task application with a free slot that has none. */
  refill(applications: readonly ApplicationConfig[]): void {
    for (const app of applications) if (this.options.freeSlots(app) > 0) this.ensure(app);
  }

  /** Stops the spares of applications (or versions, or settings) no longer served. */
  retain(applications: readonly ApplicationConfig[]): void {
    const keep = new Set(applications.map(runnerKey));
    for (const [key, spare] of [...this.spares])
      if (!keep.has(key)) {
        this.spares.delete(key);
        spare.kill();
      }
  }

  get size(): number {
    return this.spares.size;
  }

  close(): void {
    this.closed = true;
    for (const spare of this.spares.values()) spare.kill();
    this.spares.clear();
  }

  private ensure(app: ApplicationConfig): void {
    if (this.closed || app.runner !== 'process') return;
    const key = runnerKey(app);
    if (this.spares.get(key)?.alive) return;
    const spare = this.spawn(app);
    this.spares.set(key, spare);
    // A spare killed from outside simply leaves; the next task spawns its own, then a new spare follows.
    void spare.exited.then(() => {
      if (this.spares.get(key) === spare) this.spares.delete(key);
    });
  }

  private spawn(app: ApplicationConfig): RunnerProcess {
    return new RunnerProcess({
      app,
      runnerScript: this.options.runnerScript,
      outputLimitBytes: this.options.outputLimitBytes,
    });
  }
}
