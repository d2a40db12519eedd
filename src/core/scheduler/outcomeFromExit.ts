import type { Outcome } from '../database/lifecycle';
import type { TaskError } from '../task';
import type { RunnerExit } from './runnerProcess';

export interface RunContext {
  /** Set when the task was asked to stop: by a user, its timeout, or a scheduler shutting down. */
  abortReason: string | undefined;
  progress: { percent: number | null; message: string | null };
  resultLimitBytes: number;
  node: string;
}

/** Decides the one final state of a run from how its runner ended. */
export function outcomeFromExit(exit: RunnerExit, run: RunContext): Outcome {
  const base = { logs: exit.output, progress: run.progress };
  const final = exit.final;
  if (final?.type === 'succeeded') {
    const size = Buffer.byteLength(final.resultJson);
    if (size > run.resultLimitBytes) {
      return {
        ...base,
        state: 'failed',
        error: {
          name: 'ResultTooLarge',
          message: `The result is ${size} bytes of JSON; the limit is ${run.resultLimitBytes}.`,
        },
      };
    }
    // A task that returned before the abort took effect did finish: say so.
    return { ...base, state: 'succeeded', resultJson: final.resultJson };
  }
  const failure = describeFailure(exit, run.node);
  if (run.abortReason !== undefined) {
    return {
      ...base,
      state: 'aborted',
      abortReason: run.abortReason,
      error: {
        name: 'TaskAborted',
        message: `Aborted: ${run.abortReason}. The runner then ended: ${failure.name}: ${failure.message}`,
        stack: failure.stack,
      },
    };
  }
  return { ...base, state: 'failed', error: failure };
}

function describeFailure(exit: RunnerExit, node: string): TaskError {
  const final = exit.final;
  if (final?.type === 'failed') return final.error;
  if (exit.spawnError) {
    return {
      name: 'RunnerSpawnFailed',
      message: `Could not start the runner with "${node}": ${exit.spawnError.message}. Check "node" in taskman.config.json.`,
    };
  }
  if (exit.signal) {
    return {
      name: 'RunnerKilled',
      message: `The runner process was killed by ${exit.signal} before the task finished.`,
    };
  }
  return {
    name: 'RunnerExited',
    message: `The runner process exited with code ${exit.exitCode} before the task finished (did the task call process.exit()?).`,
  };
}
