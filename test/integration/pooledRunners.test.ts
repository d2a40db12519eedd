import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadApplicationConfig, type Scheduler, type Task } from '../../src/core';
import { isProcessAlive } from '../../src/core/processes';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { startReportingPid as startTaskReportingPid, startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

/** The fixture app runs `"runner": "pooled"` with `"runnerMaxTasks": 3`. */
describe('pooled runners', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  const run = async (task: string, payload: unknown = null): Promise<Task> => {
    const { id } = await db.taskman.submit({ application: 'fixture-pooled', task, payload });
    return waitForState(db.taskman, id, ['succeeded', 'failed', 'aborted']);
  };
  const whoAmI = async () => {
    const task = await run('whoAmI');
    assert.equal(task.state, 'succeeded', JSON.stringify(task.error));
    return task.result as { pid: number; runsInThisProcess: number; id: string; taskIdEnv: string | null };
  };
  const startReportingPid = (task: string) => startTaskReportingPid(db.taskman, 'fixture-pooled', task);

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['pooled']);
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  it('runs consecutive tasks in one process, with the module loaded once, and replaces it after runnerMaxTasks', async () => {
    const seen: Awaited<ReturnType<typeof whoAmI>>[] = [];
    for (let i = 0; i < 6; i++) seen.push(await whoAmI());
    assert.deepEqual(
      seen.map((r) => r.runsInThisProcess),
      [1, 2, 3, 1, 2, 3],
    );
    assert.equal(new Set(seen.slice(0, 3).map((r) => r.pid)).size, 1);
    assert.equal(new Set(seen.slice(3).map((r) => r.pid)).size, 1);
    assert.notEqual(seen[0].pid, seen[3].pid);
    await waitFor('the retired runner to be gone', () => !isProcessAlive(seen[0].pid));
    assert.equal(seen[0].taskIdEnv, null, 'a pooled runner has no per-task environment; ctx.id names the task');
  });

  it('keeps a runner whose task failed by throwing, and gives each task only its own output', async () => {
    // The previous test retired its runner after three tasks: this one starts a fresh runner.
    const before = await whoAmI();
    assert.equal(before.runsInThisProcess, 1);
    const failed = await run('fail');
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.name, 'TypeError');
    assert.match(failed.error?.stack ?? '', /tasks\.js/);
    const after = await whoAmI();
    assert.equal(after.pid, before.pid, 'a task that threw leaves its runner usable');
    assert.equal(after.runsInThisProcess, 2, 'the failed task counted, the module was not reloaded');
    const first = await run('say', { words: 'first task words' });
    const second = await run('say', { words: 'second task words' });
    assert.match(first.logs ?? '', /first task words/);
    assert.doesNotMatch(second.logs ?? '', /first task words/);
    assert.match(second.logs ?? '', /second task words/);
  });

  it('does not reuse a runner after an abort, a stray error or process.exit', async () => {
    for (const [task, expected] of [
      ['abortable', 'aborted'],
      ['throwFromTimer', 'failed'],
      ['exitZero', 'failed'],
    ] as const) {
      const { id, pid } = await startReportingPid(task);
      if (task === 'abortable') await db.taskman.abort(id, 'test abort');
      const ended = await waitForState(db.taskman, id, ['succeeded', 'failed', 'aborted']);
      assert.equal(ended.state, expected, `${task}: ${JSON.stringify(ended.error)}`);
      if (task === 'throwFromTimer') assert.match(ended.error?.message ?? '', /thrown from a timer/);
      if (task === 'exitZero') assert.equal(ended.error?.name, 'RunnerExited');
      await waitFor(`the runner of ${task} (pid ${pid}) to be gone`, () => !isProcessAlive(pid));
      const next = await whoAmI();
      assert.notEqual(next.pid, pid, `${task}: the next task must get another runner`);
      assert.equal(next.runsInThisProcess, 1);
    }
  });

  it('stops idle runners when the application version changes and when the scheduler stops', async () => {
    const idle = await whoAmI();
    const app = loadApplicationConfig(fixtureApp('pooled'));
    scheduler.setApplications([{ ...app, version: '2.0.0' }]);
    await waitFor('the 1.0.0 runner to be stopped', () => !isProcessAlive(idle.pid));
    const v2 = await whoAmI();
    assert.notEqual(v2.pid, idle.pid);
    assert.equal((await db.taskman.list({ task: 'whoAmI', limit: 1 }))[0].ranVersion, '2.0.0');
    await scheduler.stop();
    await waitFor('the idle runner to be stopped with its scheduler', () => !isProcessAlive(v2.pid));
    scheduler = await startScheduler(db.taskman, ['pooled']);
  });
});
