/**
 * The runner protocol: every message between a scheduler (parent) and a runner (child process)
 * over Node's IPC channel. Discriminated unions on a string `type`; anything else on the channel
 * is ignored by the guards.
 */
import type { SUBMISSION_OPTIONS, SubmitTaskInput } from './database/submitTask';
import type { TaskError, TaskProgress } from './task';

/** What `ctx.submit(task, payload, options)` may set of its child. */
export type ChildOptions = Pick<SubmitTaskInput, (typeof SUBMISSION_OPTIONS)[number] | 'after'>;

/** Parent → runner. */
export type ParentMessage =
  | {
      type: 'start';
      taskId: string;
      attempt: number;
      task: string;
      /** The payload as JSON text, parsed in the runner. */
      payloadJson: string;
      /** The application's tasks module: an absolute path, or (Python) a dotted module name. */
      tasksModule: string;
      resultLimitBytes: number;
      /** Pooled runner: after this task's final message, stay up for the next `start`. */
      keepAlive: boolean;
      /**
       * Pooled runner: written to stdout and to stderr after the task's output, before its final
       * message, so the parent knows when it has read all of it (scheduler/outputFence.ts).
       */
      outputFence?: string;
    }
  | { type: 'abort'; taskId: string; reason: string }
  /** The answer to a `submit`: the child's id, or why it was not submitted. */
  | { type: 'submit-result'; taskId: string; requestId: number; id?: string; error?: TaskError }
  /** Ask the runner to list the tasks module's exported functions, then exit. */
  | { type: 'list-tasks'; tasksModule: string };

/** Runner → parent. */
export type RunnerMessage =
  | { type: 'ready'; pid: number }
  | ({ type: 'progress' } & TaskProgress)
  /** `ctx.submit`: submit a task of the same application whose parent is the running task. */
  | { type: 'submit'; requestId: number; task: string; payloadJson: string; options: ChildOptions }
  | { type: 'succeeded'; resultJson: string }
  | { type: 'failed'; error: TaskError }
  | { type: 'task-list'; tasks: string[] }
  | { type: 'task-list-failed'; error: TaskError };

/** Every message type each side sends; the Python runner's own list is tested against these. */
export const PARENT_TYPES: ReadonlySet<ParentMessage['type']> = new Set<ParentMessage['type']>([
  'start',
  'abort',
  'submit-result',
  'list-tasks',
]);
export const RUNNER_TYPES: ReadonlySet<RunnerMessage['type']> = new Set<RunnerMessage['type']>([
  'ready',
  'progress',
  'submit',
  'succeeded',
  'failed',
  'task-list',
  'task-list-failed',
]);

export function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && PARENT_TYPES.has((value as { type?: never }).type as never);
}

export function isRunnerMessage(value: unknown): value is RunnerMessage {
  return typeof value === 'object' && value !== null && RUNNER_TYPES.has((value as { type?: never }).type as never);
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled runner protocol message: ${JSON.stringify(value)}`);
}
