import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  loadApplicationConfig,
  type Scheduler,
  type SchedulerOptions,
  type Task,
  type TaskState,
  type Taskman,
} from '../../src/core';
import { fixtureApp, runnerScript } from './database';
import { waitFor } from './wait';

/** Timings scaled for tests: a dead scheduler is noticed in about two seconds. */
export const FAST_TIMINGS = {
  pollIntervalMs: 100,
  heartbeatIntervalMs: 300,
  heartbeatTimeoutMs: 1500,
  abortGraceMs: 300,
  killGraceMs: 300,
  shutdownTimeoutMs: 2000,
  progressWriteIntervalMs: 50,
} satisfies Partial<SchedulerOptions>;

export async function startScheduler(
  taskman: Taskman,
  apps: string[] = ['basic'],
  options: Partial<SchedulerOptions> = {},
): Promise<Scheduler> {
  const scheduler = taskman.createScheduler({
    applications: apps.map((name) => loadApplicationConfig(fixtureApp(name))),
    journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-')),
    runnerScript,
    ...FAST_TIMINGS,
    ...options,
  });
  await scheduler.start();
  return scheduler;
}

export async function waitForState(
  taskman: Taskman,
  id: string,
  states: TaskState | TaskState[],
  timeoutMs = 20_000,
): Promise<Task> {
  const wanted = Array.isArray(states) ? states : [states];
  return waitFor(
    `task ${id} to be ${wanted.join(' or ')}`,
    async () => {
      const task = await taskman.get(id);
      return wanted.includes(task.state) ? task : undefined;
    },
    { timeoutMs },
  );
}

/** Submits a task that says its runner's pid in its progress message (`pid 1234`); resolves with both. */
export async function startReportingPid(
  taskman: Taskman,
  application: string,
  task: string,
): Promise<{ id: string; pid: number }> {
  const { id } = await taskman.submit({ application, task, payload: null });
  const running = await waitFor(`task ${id} to report its pid`, async () => {
    const current = await taskman.get(id);
    return current.progress.message?.startsWith('pid ') ? current : undefined;
  });
  return { id, pid: Number(running.progress.message!.slice(4)) };
}
