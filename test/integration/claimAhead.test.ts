import * as assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Scheduler, Task } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

/**
 * Tasks claimed before a slot is free for them (ClaimedAhead). The fixture runs pooled runners; a
 * scheduler with one slot and a long horizon holds up to two tasks while a long task has the slot.
 */
describe('claiming ahead of free slots', () => {
  let db: TestDatabase;
  const schedulers: Scheduler[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const scheduler of schedulers.splice(0)) await scheduler.stop({ timeoutMs: 500 });
    await db.drop();
  });

  const submit = async (task: string, options: { payload?: unknown; startBefore?: string } = {}) =>
    (await db.taskman.submit({ application: 'fixture-basic', task, ...options })).id;
  /** Short tasks first, so that the scheduler knows its tasks are short and its claims come back full. */
  const submitWarmUp = async () => {
    for (let i = 0; i < 5; i++) await submit('nothing');
  };
  const start = async (options: { claimAheadMs: number }) => {
    const scheduler = await startScheduler(db.taskman, ['basic-pooled'], { concurrency: 1, ...options });
    schedulers.push(scheduler);
    return scheduler;
  };
  const get = (id: string) => db.taskman.get(id);
  const heldBy = (scheduler: Scheduler, ids: string[]) =>
    waitFor(`${ids.length} task(s) to be held`, async () => {
      const tasks = await Promise.all(ids.map(get));
      return scheduler.claimedAheadCount === ids.length &&
        tasks.every((t) => t.state === 'running' && t.startedAt === null)
        ? tasks
        : undefined;
    });

  it('runs a stream of short tasks from held claims, each exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push(await submit('echo', { payload: i }));
    const scheduler = await startScheduler(db.taskman, ['basic-pooled'], { concurrency: 2 });
    schedulers.push(scheduler);
    let mostHeld = 0;
    scheduler.on('task-started', () => (mostHeld = Math.max(mostHeld, scheduler.claimedAheadCount)));
    const tasks: Task[] = [];
    for (const id of ids) tasks.push(await waitForState(db.taskman, id, ['succeeded', 'failed']));
    assert.ok(mostHeld > 0, 'tasks were held ahead of free slots');
    assert.deepEqual(
      tasks
        .filter((t) => t.state !== 'succeeded' || t.attempt !== 1 || (t.result as { attempt: number }).attempt !== 1)
        .map((t) => t.id),
      [],
      'every task succeeded at its first attempt',
    );
    assert.deepEqual(
      tasks.map((t) => (t.result as { payload: number }).payload),
      ids.map((_, i) => i),
    );
  });

  it('releases tasks no slot took within the hold limit, for another scheduler to run', async () => {
    await submitWarmUp();
    const blocker = await submit('hang');
    const held = [await submit('echo'), await submit('echo')];
    const first = await start({ claimAheadMs: 150 });
    await waitForState(db.taskman, blocker, 'running');
    await heldBy(first, held);
    const released = await waitFor('the held tasks to be released', async () => {
      const tasks = await Promise.all(held.map(get));
      return tasks.every((t) => t.state === 'pending') ? tasks : undefined;
    });
    assert.deepEqual(
      released.map((t) => [t.attempt, t.schedulerId, t.claimedAt]),
      [
        [0, null, null],
        [0, null, null],
      ],
    );
    assert.equal(first.claimedAheadCount, 0);
    const second = await start({ claimAheadMs: 0 });
    for (const id of held) {
      const task = await waitForState(db.taskman, id, 'succeeded');
      assert.equal(task.attempt, 1);
    }
    assert.equal((await get(blocker)).state, 'running', 'the first scheduler still runs its long task');
    assert.ok(second.runningCount <= 1);
  });

  it('records a held task aborted without running it, and releases the others when it stops', async () => {
    await submitWarmUp();
    const blocker = await submit('hang');
    const [aborted, other] = [await submit('echo'), await submit('echo')];
    const scheduler = await start({ claimAheadMs: 1000 });
    await waitForState(db.taskman, blocker, 'running');
    await heldBy(scheduler, [aborted, other]);
    assert.deepEqual(await db.taskman.abort(aborted, 'not needed'), { outcome: 'abort-requested' });
    const task = await waitForState(db.taskman, aborted, 'aborted');
    assert.equal(task.startedAt, null);
    assert.equal(task.abortReason, 'not needed');
    assert.match(task.error!.message, /Aborted before it started: not needed/);
    await scheduler.stop({ timeoutMs: 500 });
    const released = await get(other);
    assert.deepEqual([released.state, released.attempt, released.schedulerId], ['pending', 0, null]);
    assert.equal((await get(blocker)).state, 'aborted');
  });

  it('expires a held task whose start-before passes while it waits for the slot', async () => {
    await submitWarmUp();
    const blocker = await submit('sleep', { payload: { ms: 1500 } });
    const late = await submit('echo', { startBefore: '1s' });
    const scheduler = await start({ claimAheadMs: 1000 });
    await waitForState(db.taskman, blocker, 'running');
    await heldBy(scheduler, [late]);
    await waitForState(db.taskman, blocker, 'succeeded');
    const task = await waitForState(db.taskman, late, 'expired');
    assert.equal(task.startedAt, null);
    assert.equal(task.attempt, 0);
    assert.equal(task.error?.name, 'TaskExpired');
  });
});
