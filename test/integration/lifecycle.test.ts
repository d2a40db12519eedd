import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('a task from submit to its final state', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['basic', 'esm']);
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  it('runs a CommonJS task with the payload, the application env, cwd and NODE_PATH, and stores its JSON result', async () => {
    const { id, created } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'echo',
      payload: { n: 1, s: 'ü ☃' },
    });
    assert.equal(created, true);
    const task = await waitForState(db.taskman, id, 'succeeded');
    const result = task.result as Record<string, unknown>;
    assert.deepEqual(result.payload, { n: 1, s: 'ü ☃' });
    assert.equal(result.id, id);
    assert.equal(result.attempt, 1);
    assert.equal(result.mode, 'test');
    assert.equal(result.cwd, fixtureApp('basic'));
    assert.match(String(result.nodePath), /node_modules$/);
    assert.equal(task.ranVersion, '1.0.0');
    assert.ok(task.startedAt && task.endedAt && task.claimedAt);
    assert.ok(task.startedAt <= task.endedAt);
    assert.equal(task.error, null);
  });

  it('runs an ES module task (with top-level await)', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-esm', task: 'hello', payload: { name: 'esm' } });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.deepEqual(task.result, { hello: 'esm', esm: true });
  });

  it('stores undefined as a null result', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'nothing' });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.equal(task.result, null);
  });

  it('records progress and keeps the final value and the logs', async () => {
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'progress',
      payload: { steps: 4, delayMs: 30 },
    });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.deepEqual(task.progress, { percent: 100, message: 'step 4 of 4' });
    assert.match(task.logs ?? '', /did step 1\n[\s\S]*did step 4\n/);
  });

  it("shows a running task's output in its row while it runs, before it ends", async () => {
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'progress',
      payload: { steps: 40, delayMs: 100 },
    });
    const running = await waitFor("the output of a step in the running task's row", async () => {
      const task = await db.taskman.get(id);
      return /did step 2\n/.test(task.logs ?? '') ? task : undefined;
    });
    assert.equal(running.state, 'running');
    await db.taskman.abort(id);
    await waitForState(db.taskman, id, 'aborted');
  });

  it('fails a task that throws, keeping name, message, code and stack', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'fail' });
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'RangeError');
    assert.equal(task.error?.message, 'the input was out of range');
    assert.equal(task.error?.code, 'E_RANGE');
    assert.match(task.error?.stack ?? '', /tasks\.js:\d+/);
    assert.doesNotMatch(task.error?.stack ?? '', /runner\.js/, "Taskman's own frames are left out");
    assert.equal(task.result, null);
  });
});
