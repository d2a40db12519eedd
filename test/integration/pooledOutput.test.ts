import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { type ApplicationConfig, loadApplicationConfig } from '../../src/core';
import { RunnerProcess } from '../../src/core/scheduler/runnerProcess';
import { fixtureApp, runnerScript } from '../helpers/database';

/**
 * A pooled runner writes a task's output to its pipes and then sends the final message on another
 * channel: the parent may hear the message first. Each answer must still carry all of its own
 * task's output and none of the next one's. Before the fix, about 1 in 100 tasks here (1 in 7 on
 * a busy machine) came back with its output missing.
 */
const TASKS = 400;

for (const fixture of ['pooled', 'python-pooled'] as const) {
  describe(`a pooled runner's output goes with its own task (${fixture})`, () => {
    it(`${TASKS} tasks in one runner, each answered with exactly its own stdout and stderr`, async () => {
      const app = loadApplicationConfig(fixtureApp(fixture));
      const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 64 * 1024 });
      const wrong: string[] = [];
      try {
        for (let i = 0; i < TASKS; i++) {
          const exit = await runPooled(runner, app, 'say', { words: `words of task ${i}.` }, String(i + 1));
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
  });
}

/** One pooled task in `runner`. */
function runPooled(runner: RunnerProcess, app: ApplicationConfig, task: string, payload: unknown, taskId = '1') {
  return runner.run({
    type: 'start',
    taskId,
    attempt: 1,
    task,
    payloadJson: JSON.stringify(payload),
    tasksModule: app.tasks,
    resultLimitBytes: 1024,
    keepAlive: true,
  });
}

describe('a pooled task that took away the stdout its output fence goes to', () => {
  it('Node: a task that ended process.stdout is answered with its output, and its runner stays', async () => {
    const app = loadApplicationConfig(fixtureApp('pooled'));
    const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 64 * 1024 });
    try {
      const exit = await runPooled(runner, app, 'endStdout', null);
      assert.deepEqual(exit.final, { type: 'succeeded', resultJson: '"done"' });
      assert.equal(exit.output, 'said on stderr\n');
      const next = await runPooled(runner, app, 'say', { words: 'next task' }, '2');
      assert.equal(next.final?.type, 'succeeded');
      assert.match(next.output, /next task/);
      assert.ok(runner.alive, 'the runner is still there for the next task');
    } finally {
      runner.kill();
      await runner.exited;
    }
  });

  it('Python: fd 1 closed (a child holding the pipe) and taken by a file: the fence still comes, never into the file', async () => {
    const app = loadApplicationConfig(fixtureApp('python-pooled'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-fence-'));
    const file = path.join(dir, 'took-fd-1.txt');
    const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 64 * 1024 });
    try {
      const exit = await runPooled(runner, app, 'closeStdout', { file });
      assert.deepEqual(exit.final, { type: 'succeeded', resultJson: '1' }, 'the file took fd 1');
      assert.equal(exit.output, 'said on stderr\n');
      const next = await runPooled(runner, app, 'say', { words: 'next task' }, '2');
      assert.equal(next.final?.type, 'succeeded');
      assert.equal(next.output, 'next task\n', 'stdout went to the file, stderr still here');
      assert.equal(fs.readFileSync(file, 'utf8'), 'next task\n', 'the fence never went to fd 1 once it was a file');
    } finally {
      runner.kill();
      await runner.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a runner that writes no fence at all is still answered, with its output, after the bounded wait', async () => {
    const app = loadApplicationConfig(fixtureApp('pooled'));
    const unfenced = path.join(fixtureApp('..'), 'runners', 'unfencedRunner.js');
    const runner = new RunnerProcess({ app, runnerScript: unfenced, outputLimitBytes: 64 * 1024 });
    try {
      const exit = await runPooled(runner, app, 'say', { words: 'unfenced words' });
      assert.deepEqual(exit.final, { type: 'succeeded', resultJson: 'null' });
      assert.equal(exit.output, 'unfenced words\n');
    } finally {
      runner.kill();
      await runner.exited;
    }
  });
});
