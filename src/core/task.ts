/** The task as every layer sees it: the engine, the CLI and the extension. */

/**
 * `waiting`: for the tasks it runs after (`after`) to succeed, then `pending`. `skipped`: one of
 * them ended otherwise, so it never ran (database/lifecycle/dependencies.ts).
 */
export const TASK_STATES = [
  'waiting',
  'pending',
  'running',
  'succeeded',
  'failed',
  'aborted',
  'lost',
  'expired',
  'skipped',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** A state a task never leaves. */
export type EndedState = Exclude<TaskState, 'waiting' | 'pending' | 'running'>;
export const ENDED_STATES: readonly EndedState[] = ['succeeded', 'failed', 'aborted', 'lost', 'expired', 'skipped'];

export function isTaskState(value: string): value is TaskState {
  return (TASK_STATES as readonly string[]).includes(value);
}

export function isEnded(state: TaskState): state is EndedState {
  return (ENDED_STATES as readonly TaskState[]).includes(state);
}

/** BIGINT ids travel as decimal strings: JavaScript numbers lose precision past 2^53. */
export type TaskId = string;

/** A serialised error: what the task threw, or what Taskman says went wrong around it. */
export interface TaskError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export interface TaskProgress {
  percent: number | null;
  message: string | null;
}

export interface Task {
  id: TaskId;
  application: string;
  task: string;
  state: TaskState;
  payload: unknown;
  key: string | null;
  priority: number;
  /** Only a scheduler running this version of the application may claim the task. */
  version: string | null;
  /** The application version that ran it. */
  ranVersion: string | null;
  /** Runs started so far, this one included; back to pending with attempts left, the next is `attempt + 1`. */
  attempt: number;
  /**
   * Retry options, as submitted or, once the task started, as its application's `taskOptions`
   * gave them (null: neither said; no retries, not idempotent). retries.ts has the rules.
   */
  retries: number | null;
  retryDelayMs: number | null;
  retryMaxDelayMs: number | null;
  idempotent: boolean | null;
  /**
   * No more tasks of the application with this key run at once than its limit (concurrency.ts):
   * as submitted, or made from the task's `taskOptions` template by the first scheduler to pick it.
   */
  concurrencyKey: string | null;
  progress: TaskProgress;
  /** The function's JSON result (succeeded only). */
  result: unknown;
  error: TaskError | null;
  /** The last 64 KiB of the runner's output. Null in lists unless asked for. */
  logs: string | null;
  runAfter: Date;
  startBefore: Date | null;
  timeoutMs: number | null;
  abortRequestedAt: Date | null;
  abortReason: string | null;
  rerunOf: TaskId | null;
  /** The task whose code submitted it (`ctx.submit`). */
  parentId: TaskId | null;
  schedulerId: string | null;
  /** Set when the task runs under a debugger: only this scheduler may claim it. */
  debugSchedulerId: string | null;
  createdAt: Date;
  claimedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  updatedAt: Date;
}

/** An earlier run of a task that was retried after it: its outcome and times. */
export interface TaskAttempt {
  attempt: number;
  state: 'failed' | 'lost';
  error: TaskError | null;
  /** The tail of its output. */
  logs: string | null;
  schedulerId: string | null;
  ranVersion: string | null;
  claimedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date;
  /** When the next attempt became due. */
  retryAt: Date;
}

/** Valid task names: a JavaScript identifier. A path or an expression can never name a task. */
export const TASK_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;
