// A scheduler stopped while a claim is in flight: the tasks that claim marked started must still
// run and end honestly, never be left `running` under a deregistered scheduler and end `lost`.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler } from '../helpers/scheduler';

describe('stopping a scheduler during a claim', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('the task the claim started runs to its end before the scheduler deregisters', async () => {
    const scheduler = await startScheduler(db.taskman, ['basic']);
    let stopping: Promise<void> | undefined;
    // 'claimed' fires once the claim committed, before its tasks reach their slots: the moment
    // a stop found "0 running" and deregistered, settling the just-started task as lost.
    scheduler.on('claimed', (_application, count) => {
      if (count > 0 && !stopping) stopping = scheduler.stop();
    });
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 200 } });
    scheduler.wake();
    await new Promise<void>((resolve) => scheduler.once('stopped', () => resolve()));
    await stopping;
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'succeeded', `${task.state}: ${task.error?.message ?? ''}`);
    assert.deepEqual(await db.taskman.listSchedulers(), []);
  });
});
