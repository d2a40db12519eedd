import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadApplicationConfig } from '../../src/core';
import { RunnerProcess } from '../../src/core/scheduler/runnerProcess';
import { fixtureApp, runnerScript } from '../helpers/database';

/**
 * A pooled runner writes a task's output to its pipes and then sends the final message on another
 * channel: the parent may hear the message first. Each answer must still carry all of its own
 * task's output and none of the next one's. Before the fix, about 1 in 100 tasks here (1 in 7 on
 * a busy machine) came back with its output missing.
 */
const TASKS = 400;

const CLOSES_STDOUT = { pooled: 'destroyStdout', 'python-pooled': 'closeStdout' };

for (const fixture of ['pooled', 'python-pooled'] as const) {
  describe(`a pooled runner's output goes with its own task (${fixture})`, () => {
    it(`${TASKS} tasks in one runner, each answered with exactly its own stdout and stderr`, async () => {
      const app = loadApplicationConfig(fixtureApp(fixture));
      const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 64 * 1024 });
      const wrong: string[] = [];
      try {
        for (let i = 0; i < TASKS; i++) {
          const exit = await runner.run({
            type: 'start',
            taskId: String(i + 1),
            attempt: 1,
            task: 'say',
            payloadJson: JSON.stringify({ words: `words of task ${i}.` }),
            tasksModule: app.tasks,
            resultLimitBytes: 1024,
            keepAlive: true,
          });
          assert.equal(exit.final?.type, 'succeeded', JSON.stringify(exit));
          const expected = `words of task ${i}.\n`.repeat(2);
          if (exit.output !== expected) wrong.push(`task ${i}: ${JSON.stringify(exit.output)}`);
        }
      } finally {
        runner.kill();
        await runner.exited;
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${TASKS} tasks had other output than their own`);
    });

    it('answers a task that took away the stdout its fence goes to (Node: the pipe closes; Python: a child holds it open), with its output', async () => {
      const app = loadApplicationConfig(fixtureApp(fixture));
      const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 64 * 1024 });
      try {
        const exit = await runner.run({
          type: 'start',
          taskId: '1',
          attempt: 1,
          task: CLOSES_STDOUT[fixture],
          payloadJson: 'null',
          tasksModule: app.tasks,
          resultLimitBytes: 1024,
          keepAlive: true,
        });
        assert.deepEqual(exit.final, { type: 'succeeded', resultJson: '"done"' });
        assert.match(exit.output, /said on stderr/);
        assert.doesNotMatch(exit.output, /taskman-output-fence/);
      } finally {
        runner.kill();
        await runner.exited;
      }
    });
  });
}
