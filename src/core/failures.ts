import type { TaskError, TaskState } from './task';

/**
 * The failures Taskman itself reports in a task's `error`: one entry per `error.name`, the state
 * the task ends in, and the one builder of its message. Any other name in `error.name` is the name
 * of what the task's own code threw. docs/reliability.md lists these (a unit test compares them).
 */
export const FAILURES = {
  TaskLost: {
    state: 'lost',
    /** `retried`: the task is idempotent with attempts left, so it runs again. */
    message: (why: string, retried = false) =>
      retried
        ? `The task's ${why} after starting it. It may have run in part; it is idempotent, so Taskman runs it again.`
        : `The task's ${why} after starting it. It may have run in part; Taskman never re-runs it automatically. Rerun it if that is safe.`,
  },
  TaskExpired: {
    state: 'expired',
    message: () => 'Its start-before deadline passed before any scheduler started it.',
  },
  DependencyNotSucceeded: {
    state: 'skipped',
    /** `ended`: the dependency's state, or `deleted` when it is no longer in the database. */
    message: (dependency: string, ended: string) =>
      ended === 'deleted'
        ? `Not run: task ${dependency}, which it was to run after, was deleted before it ended as succeeded.`
        : `Not run: task ${dependency}, which it was to run after, ended ${ended}, not succeeded.`,
  },
  TaskAborted: {
    state: 'aborted',
    /** `runnerEnded`: how the runner ended after the abort; absent when the task never started. */
    message: (reason: string, runnerEnded?: TaskError) =>
      runnerEnded
        ? `Aborted: ${reason}. The runner then ended: ${runnerEnded.name}: ${runnerEnded.message}`
        : `Aborted before it started: ${reason}.`,
  },
  TasksModuleLoadError: {
    state: 'failed',
    message: (tasksModule: string, thrown: TaskError) =>
      `Loading the tasks module ${tasksModule} failed: ${thrown.name}: ${thrown.message}`,
  },
  TaskNotExported: {
    state: 'failed',
    message: (task: string, tasksModule: string, exported: string[]) =>
      `"${task}" is not an exported function of ${tasksModule}. Exported tasks: ${exported.length ? exported.join(', ') : '(none)'}.`,
  },
  InvalidPayload: {
    state: 'failed',
    message: (why: string) => `The stored payload is not JSON: ${why}`,
  },
  ResultNotSerializable: {
    state: 'failed',
    message: (why: string) =>
      `The task returned a value that is not JSON: ${why}. Return plain objects, arrays, strings, numbers, booleans or null.`,
  },
  ResultTooLarge: {
    state: 'failed',
    message: (bytes: number, limitBytes: number) =>
      `The result is ${bytes} bytes of JSON; the limit is ${limitBytes}. Store large output elsewhere and return a reference.`,
  },
  RunnerSpawnFailed: {
    state: 'failed',
    message: (interpreter: { field: string; command: string }, why: string) =>
      `Could not start the runner with "${interpreter.command}": ${why}. Check "${interpreter.field}" in taskman.config.json.`,
  },
  RunnerKilled: {
    state: 'failed',
    message: (signal: string) => `The runner process was killed by ${signal} before the task finished.`,
  },
  RunnerExited: {
    state: 'failed',
    message: (exitCode: number | null) =>
      `The runner process exited with code ${exitCode} before the task finished (did the task call process.exit() or sys.exit()?).`,
  },
  DebugpyMissing: {
    state: 'failed',
    message: (python: string) =>
      `Debugging a Python task needs debugpy for ${python}: install it (Debian and Ubuntu: apt install python3-debugpy; otherwise: ${python} -m pip install debugpy).`,
  },
  NonErrorThrown: {
    state: 'failed',
    message: (shown: string) =>
      `The task threw a value that is not an Error: ${shown}. Throw an Error to get a stack trace.`,
  },
} as const satisfies Record<string, { state: TaskState; message: (...values: never[]) => string }>;

export type FailureName = keyof typeof FAILURES;

export const FAILURE_NAMES = Object.keys(FAILURES) as FailureName[];

/** The error of a failure Taskman reports, with its one message. */
export function failure<N extends FailureName>(
  name: N,
  ...values: Parameters<(typeof FAILURES)[N]['message']>
): TaskError & { name: N } {
  const message = FAILURES[name].message as (...values: Parameters<(typeof FAILURES)[N]['message']>) => string;
  return { name, message: message(...values) };
}
