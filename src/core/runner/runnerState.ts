import type { TaskId } from '../task';

/** The task a runner has in hand, from its `start` until its final message is sent. */
export interface TaskInHand {
  taskId: TaskId;
  /** Fires the task's `ctx.signal`; only an `abort` naming this task id reaches it. */
  abort: AbortController;
  /** Pooled: written to stdout and stderr before the final message (protocol.ts, `start`). */
  outputFence: string | undefined;
}

/**
 * The runner's whole lifecycle as one value. Each state carries only what is true in it, so a
 * pooled runner going back to `idle` keeps nothing of the task before.
 */
export type RunnerState =
  /** Waiting for a `start` or a `list-tasks`: a fresh runner, or a pooled one between tasks. */
  | { name: 'idle' }
  /** `keepAlive`: the task came to a pooled runner, which may stay for the next one. */
  | { name: 'running'; task: TaskInHand; keepAlive: boolean }
  | { name: 'listing' }
  /**
   * Draining output and sending the one final message. `task` (absent after a listing) can still
   * be aborted: its abort listeners may still have work to do. `stays`: idle afterwards, not exit.
   */
  | { name: 'finishing'; task: TaskInHand | undefined; stays: boolean }
  /** Ending the process: no message starts anything any more. */
  | { name: 'exiting' };

export type RunnerStateName = RunnerState['name'];

const NEXT_STATES: Record<RunnerStateName, readonly RunnerStateName[]> = {
  // `exiting` from idle: a stray error with no task to fail.
  idle: ['running', 'listing', 'exiting'],
  // A task or a listing, whichever way it ended (a stray error included), first sends its final message.
  running: ['finishing'],
  listing: ['finishing'],
  finishing: ['idle', 'exiting'],
  exiting: [],
};

/** A change of state the lifecycle does not have: a bug in the runner, not in the task. */
export class RunnerStateError extends Error {
  override name = 'RunnerStateError';

  constructor(from: RunnerStateName, to: RunnerStateName) {
    super(`The runner cannot go from ${from} to ${to}.`);
  }
}

export function checkTransition(from: RunnerStateName, to: RunnerStateName): void {
  if (!NEXT_STATES[from].includes(to)) throw new RunnerStateError(from, to);
}
