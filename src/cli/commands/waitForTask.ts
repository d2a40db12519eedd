import { isEnded, sleep, type Task, type Taskman } from '../../core';
import { elapsedText } from '../format';

const POLL_MS = 250;
const BAR_WIDTH = 30;

/** A one-line progress bar: `[#########-----]  42% · parsing rows · 12s`. */
export function progressLine(task: Task, now: Date): string {
  const percent = task.progress.percent;
  const filled = percent === null ? 0 : Math.round((percent / 100) * BAR_WIDTH);
  const bar = percent === null ? ' '.repeat(BAR_WIDTH) : '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
  const parts = [
    `task ${task.id} ${task.state}`,
    `[${bar}]`,
    percent === null ? '   ?' : `${String(Math.round(percent)).padStart(3)}%`,
  ];
  if (task.progress.message) parts.push(task.progress.message);
  const elapsed = elapsedText(task, now);
  if (elapsed) parts.push(elapsed);
  return parts.join(' ');
}

/** Polls the task until it ends (or `timeoutMs` passes), redrawing a progress line on a terminal. */
export async function waitForTask(
  taskman: Taskman,
  id: string,
  options: { timeoutMs?: number; tty: boolean },
): Promise<Task> {
  const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  let drawn = false;
  try {
    for (;;) {
      const task = await taskman.get(id);
      if (options.tty) {
        const line = progressLine(task, new Date()).slice(0, (process.stderr.columns || 100) - 1);
        process.stderr.write(`\r\x1b[2K${line}`);
        drawn = true;
      }
      if (isEnded(task.state)) return task;
      if (performance.now() > deadline) {
        const error = new Error(
          `task ${id} is still ${task.state} after the --timeout; it keeps running (abort it with: taskman abort ${id})`,
        );
        throw error;
      }
      await sleep(POLL_MS);
    }
  } finally {
    if (drawn) process.stderr.write('\n');
  }
}
