import type { ApplicationConfig } from '../config';
import { RunnerProcess } from './runnerProcess';

export interface RunnerPoolOptions {
  runnerScript: string;
  outputLimitBytes: number;
  /** An idle runner is stopped after this long without a task. */
  idleTimeoutMs: number;
}

interface IdleRunner {
  runner: RunnerProcess;
  timer: NodeJS.Timeout;
}

/**
 * Runner processes kept between tasks for applications with `"runner": "pooled"`. A runner serves
 * one application version with one environment (its key); it is reused only after a task that
 * ended by itself, and replaced after `runnerMaxTasks` tasks, after any abort or crash, and when
 * the application's config changes. A pooled runner saves the process start and the tasks
 * module's import (tens of milliseconds) per task; tasks of one runner share its memory, which is
 * why process-per-task stays the default.
 */
export class RunnerPool {
  private readonly idle = new Map<string, IdleRunner[]>();
  private closed = false;

  constructor(private readonly options: RunnerPoolOptions) {}

  /** An idle runner for this application, or a new one. */
  acquire(app: ApplicationConfig): RunnerProcess {
    const list = this.idle.get(runnerKey(app)) ?? [];
    for (let entry = list.pop(); entry; entry = list.pop()) {
      clearTimeout(entry.timer);
      if (entry.runner.alive) return entry.runner;
    }
    return new RunnerProcess({
      app,
      runnerScript: this.options.runnerScript,
      outputLimitBytes: this.options.outputLimitBytes,
    });
  }

  /** Back to the pool after a task, or stopped if it should not run another. */
  release(app: ApplicationConfig, runner: RunnerProcess, reusable: boolean): void {
    if (this.closed || !reusable || !runner.alive || runner.tasksRun >= app.runnerMaxTasks) {
      runner.kill();
      return;
    }
    const key = runnerKey(app);
    const list = this.idle.get(key) ?? [];
    this.idle.set(key, list);
    const entry: IdleRunner = {
      runner,
      timer: setTimeout(() => this.discard(key, entry), this.options.idleTimeoutMs),
    };
    list.push(entry);
    // A runner that dies while idle (killed from outside) simply leaves the pool.
    void runner.exited.then(() => this.discard(key, entry));
  }

  /** Stops idle runners of applications (or versions, or settings) no longer served. */
  retain(applications: ApplicationConfig[]): void {
    const keep = new Set(applications.map(runnerKey));
    for (const key of [...this.idle.keys()])
      if (!keep.has(key)) for (const entry of [...this.idle.get(key)!]) this.discard(key, entry);
  }

  get idleCount(): number {
    return [...this.idle.values()].reduce((sum, list) => sum + list.length, 0);
  }

  close(): void {
    this.closed = true;
    for (const [key, list] of [...this.idle]) for (const entry of [...list]) this.discard(key, entry);
  }

  private discard(key: string, entry: IdleRunner): void {
    const list = this.idle.get(key);
    const index = list?.indexOf(entry) ?? -1;
    if (index < 0) return;
    list!.splice(index, 1);
    if (list!.length === 0) this.idle.delete(key);
    clearTimeout(entry.timer);
    entry.runner.kill();
  }
}

/** Runners are interchangeable only within one version and one runtime setting. */
export function runnerKey(app: ApplicationConfig): string {
  return JSON.stringify([
    app.name,
    app.version,
    app.root,
    app.runtime,
    app.tasks,
    app.node,
    app.python,
    app.execArgv,
    app.env,
    app.modulePaths,
  ]);
}
