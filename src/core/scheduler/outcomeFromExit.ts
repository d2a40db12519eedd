import type { Outcome } from '../database/lifecycle';
import { failure } from '../failures';
import type { TaskError, TaskProgress } from '../task';
import type { RunnerExit } from './runnerProcess';

export interface RunContext {
  /** Set when the task was asked to stop: by a user, its timeout, or a scheduler shutting down. */
  abortReason: string | undefined;
  progress: TaskProgress;
  resultLimitBytes: number;
  /** The interpreter that ran the runner, and the config field naming it. */
  interpreter: { field: string; command: string };
}

/** Decides the one final state of a run from how its runner ended. */
export function outcomeFromExit(exit: RunnerExit, run: RunContext): Outcome {
  const base = { logs: exit.output, progress: run.progress };
  const final = exit.final;
  if (final?.type === 'succeeded') {
    const size = Buffer.byteLength(final.resultJson);
    if (size > run.resultLimitBytes) {
      return { ...base, state: 'failed', error: failure('ResultTooLarge', size, run.resultLimitBytes) };
    }
    // A task that returned before the abort took effect did finish: say so.
    return { ...base, state: 'succeeded', resultJson: final.resultJson };
  }
  const runnerEnded = describeRunnerEnd(exit, run.interpreter);
  if (run.abortReason !== undefined) {
    return {
      ...base,
      state: 'aborted',
      abortReason: run.abortReason,
      error: { ...failure('TaskAborted', run.abortReason, runnerEnded), stack: runnerEnded.stack },
    };
  }
  return { ...base, state: 'failed', error: runnerEnded };
}

function describeRunnerEnd(exit: RunnerExit, interpreter: { field: string; command: string }): TaskError {
  const final = exit.final;
  if (final?.type === 'failed') return final.error;
  if (exit.spawnError) return failure('RunnerSpawnFailed', interpreter, exit.spawnError.message);
  if (exit.signal) return failure('RunnerKilled', exit.signal);
  return failure('RunnerExited', exit.exitCode);
}
