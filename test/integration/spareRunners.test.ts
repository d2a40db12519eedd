import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadApplicationConfig, type Scheduler } from '../../src/core';
import { isProcessAlive } from '../../src/core/processes';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { childRunnerPids } from '../helpers/processes';
import { startReportingPid as startTaskReportingPid, startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

/** The basic fixture app runs a process per task (the default), 4 at a time. */
describe('spare runners (process per task)', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  const basic = loadApplicationConfig(fixtureApp('basic'));
  const oneSpare = () =>
    waitFor('one spare runner', () => (childRunnerPids().length === 1 ? childRunnerPids()[0] : undefined));
  /** Starts `waitWithPid`, which says its runner's pid in its progress message. */
  const startReportingPid = () => startTaskReportingPid(db.taskman, 'fixture-basic', 'waitWithPid');

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['basic']);
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  it('runs each task in the runner started before it, one task per process, and starts the next spare meanwhile', async () => {
    const spare = await oneSpare();
    const first = await startReportingPid();
    assert.equal(first.pid, spare, 'the task ran in the spare started before it was submitted');
    const next = await waitFor('the next spare', () => childRunnerPids().find((pid) => pid !== first.pid));
    await db.taskman.abort(first.id, 'test done');
    await waitForState(db.taskman, first.id, 'aborted');
    await waitFor('the first task’s process to be gone', () => !isProcessAlive(first.pid));
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'environment' });
    const task = await waitForState(db.taskman, id, 'succeeded');
    const env = (task.result as { env: Record<string, string> }).env;
    assert.equal(env.TASKMAN_TASK_ID, id, 'a spare learns its task id before the task’s module loads');
    assert.equal(env.FIXTURE_MODE, 'test', 'with the application’s environment');
    assert.equal(isProcessAlive(next), false, 'the second spare ran that task and exited: never a second task');
    assert.notEqual(await oneSpare(), next);
  });

  it('keeps no spare while every slot of the application is taken', async () => {
    await scheduler.stop();
    scheduler = await startScheduler(db.taskman, [], { applications: [{ ...basic, concurrency: 1 }] });
    const spare = await oneSpare();
    const running = await startReportingPid();
    assert.equal(running.pid, spare);
    await waitFor('no runner but the task’s', () => childRunnerPids().join() === String(running.pid));
    await db.taskman.abort(running.id, 'test done');
    await waitForState(db.taskman, running.id, 'aborted');
    assert.notEqual(await oneSpare(), running.pid, 'a freed slot gets its spare back');
  });

  it('replaces the spare when the application’s version changes, and stops it with the scheduler', async () => {
    const old = await oneSpare();
    scheduler.setApplications([{ ...basic, concurrency: 1, version: '2.0.0' }]);
    await waitFor('the old spare to be gone', () => !isProcessAlive(old));
    const fresh = await oneSpare();
    assert.notEqual(fresh, old);
    await scheduler.stop();
    await waitFor('the spare to be stopped with the scheduler', () => !isProcessAlive(fresh));
    assert.deepEqual(childRunnerPids(), []);
    scheduler = await startScheduler(db.taskman, ['basic']);
  });
});
