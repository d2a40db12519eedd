import { format } from 'node:util';
import { failure } from '../failures';
import type { ParentMessage, RunnerMessage } from '../protocol';
import type { TaskError, TaskProgress } from '../task';
import type { ChildSubmissions } from './childSubmissions';
import { findTaskFunction, listTaskNames, loadTasksModule } from './loadTasksModule';
import { serialiseThrown } from './serialiseThrown';

export type StartMessage = Extract<ParentMessage, { type: 'start' }>;

/** How a task ended: its one final message, and whether a pooled runner may take a next task. */
export interface TaskEnd {
  message: Extract<RunnerMessage, { type: 'succeeded' | 'failed' }>;
  mayStay: boolean;
}

/** The database column holds this much (progress_message VARCHAR(1024)). */
const PROGRESS_MESSAGE_MAX_CHARS = 1024;

/**
 * Loads the tasks module, calls the task with its payload and context, and checks the result.
 * Every way the task ends is returned; a stray error of the task's code is the caller's to catch.
 */
export async function runTask(
  start: StartMessage,
  signal: AbortSignal,
  reportProgress: (progress: TaskProgress) => void,
  children: ChildSubmissions,
): Promise<TaskEnd> {
  let exportsObject: Record<string, unknown>;
  try {
    exportsObject = await loadTasksModule(start.tasksModule);
  } catch (error) {
    const thrown = serialiseThrown(error);
    // Whatever the failed import ran stays in this process: a pooled runner does not stay either.
    const loadError = { ...thrown, ...failure('TasksModuleLoadError', start.tasksModule, thrown) };
    return { message: { type: 'failed', error: loadError }, mayStay: false };
  }
  const fn = findTaskFunction(exportsObject, start.task);
  if (!fn) {
    return failed(failure('TaskNotExported', start.task, start.tasksModule, listTaskNames(exportsObject)));
  }
  let payload: unknown;
  try {
    payload = JSON.parse(start.payloadJson);
  } catch (error) {
    return failed(failure('InvalidPayload', (error as Error).message));
  }
  let value: unknown;
  try {
    value = await fn(payload, taskContext(start, signal, reportProgress, children));
  } catch (error) {
    return failed(serialiseThrown(error));
  }
  let resultJson: string | undefined;
  try {
    resultJson = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    return failed(failure('ResultNotSerializable', (error as Error).message));
  }
  // JSON.stringify returns undefined, not throws, for these.
  if (resultJson === undefined) return failed(failure('ResultNotSerializable', 'a function or a symbol'));
  const size = Buffer.byteLength(resultJson);
  if (size > start.resultLimitBytes) return failed(failure('ResultTooLarge', size, start.resultLimitBytes));
  return { message: { type: 'succeeded', resultJson }, mayStay: true };
}

function failed(error: TaskError): TaskEnd {
  return { message: { type: 'failed', error }, mayStay: true };
}

/** The `ctx` the task function gets as its second argument. */
function taskContext(
  start: StartMessage,
  signal: AbortSignal,
  reportProgress: (progress: TaskProgress) => void,
  children: ChildSubmissions,
) {
  return Object.freeze({
    id: start.taskId,
    attempt: start.attempt,
    signal,
    progress(percent: number | null, message?: string | null): void {
      if (
        percent !== null &&
        (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
      ) {
        throw new TypeError(
          `ctx.progress(percent) takes a number from 0 to 100 or null, got ${format('%o', percent)}.`,
        );
      }
      if (message !== undefined && message !== null && typeof message !== 'string') {
        throw new TypeError('ctx.progress(percent, message): message must be a string.');
      }
      reportProgress({
        percent,
        message: message === undefined || message === null ? null : message.slice(0, PROGRESS_MESSAGE_MAX_CHARS),
      });
    },
    log(...args: unknown[]): void {
      process.stdout.write(`${format(...args)}\n`);
    },
    /** Submits a task of this application whose parent is this task; resolves with its id. */
    submit(task: string, payload?: unknown, options?: Record<string, unknown>): Promise<string> {
      return children.submit(task, payload, options);
    },
  });
}
