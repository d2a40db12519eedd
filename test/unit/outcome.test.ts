import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outcomeFromExit } from '../../src/core/scheduler/outcomeFromExit';
import type { RunnerExit } from '../../src/core/scheduler/runnerProcess';

const run = {
  abortReason: undefined,
  progress: { percent: 50, message: 'half' },
  resultLimitBytes: 100,
  interpreter: { field: 'node', command: 'node' },
};
const exit = (over: Partial<RunnerExit>): RunnerExit => ({
  final: undefined,
  exitCode: 0,
  signal: null,
  output: 'out',
  spawnError: undefined,
  ...over,
});

describe('the final state of a run', () => {
  it('is succeeded with the result when the runner said so', () => {
    const outcome = outcomeFromExit(exit({ final: { type: 'succeeded', resultJson: '{"a":1}' } }), run);
    assert.equal(outcome.state, 'succeeded');
    assert.equal(outcome.resultJson, '{"a":1}');
    assert.equal(outcome.logs, 'out');
    assert.deepEqual(outcome.progress, { percent: 50, message: 'half' });
  });

  it('is succeeded even when an abort came after the task returned', () => {
    assert.equal(
      outcomeFromExit(exit({ final: { type: 'succeeded', resultJson: '1' } }), { ...run, abortReason: 'late' }).state,
      'succeeded',
    );
  });

  it('is failed when a result over the limit slips through', () => {
    const outcome = outcomeFromExit(exit({ final: { type: 'succeeded', resultJson: 'x'.repeat(101) } }), run);
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.error?.name, 'ResultTooLarge');
  });

  it("is failed with the task's error", () => {
    const outcome = outcomeFromExit(
      exit({ exitCode: 1, final: { type: 'failed', error: { name: 'E', message: 'm' } } }),
      run,
    );
    assert.deepEqual([outcome.state, outcome.error], ['failed', { name: 'E', message: 'm' }]);
  });

  it('names the signal when the runner was killed', () => {
    const outcome = outcomeFromExit(exit({ exitCode: null, signal: 'SIGKILL' }), run);
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.error?.name, 'RunnerKilled');
    assert.match(outcome.error!.message, /SIGKILL/);
  });

  it('names the exit code when the runner exited without a word', () => {
    const outcome = outcomeFromExit(exit({ exitCode: 0 }), run);
    assert.equal(outcome.error?.name, 'RunnerExited');
    assert.match(outcome.error!.message, /exited with code 0 .*process\.exit/);
  });

  it('says which binary could not be started, and the field that names it', () => {
    const outcome = outcomeFromExit(exit({ exitCode: null, spawnError: new Error('spawn nodex ENOENT') }), {
      ...run,
      interpreter: { field: 'node', command: 'nodex' },
    });
    assert.equal(outcome.error?.name, 'RunnerSpawnFailed');
    assert.match(outcome.error!.message, /"nodex".*ENOENT.*Check "node"/);
    const python = outcomeFromExit(exit({ exitCode: null, spawnError: new Error('spawn python9 ENOENT') }), {
      ...run,
      interpreter: { field: 'python', command: 'python9' },
    });
    assert.match(python.error!.message, /"python9".*ENOENT.*Check "python"/);
  });

  it('is aborted with the reason when the run was asked to stop', () => {
    const outcome = outcomeFromExit(exit({ exitCode: null, signal: 'SIGTERM' }), {
      ...run,
      abortReason: 'timeout after 5s',
    });
    assert.equal(outcome.state, 'aborted');
    assert.equal(outcome.abortReason, 'timeout after 5s');
    assert.match(outcome.error!.message, /^Aborted: timeout after 5s\. The runner then ended: RunnerKilled/);
  });
});
