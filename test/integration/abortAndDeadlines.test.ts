import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('abort, timeout and start-before', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman);
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  const runningTask = async (task: string) => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task });
    await waitFor(`task ${id} to report progress`, async () => (await db.taskman.get(id)).progress.percent !== null);
    return id;
  };

  it('a pending task is aborted at once and never starts', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo', runAfter: '1h' });
    assert.deepEqual(await db.taskman.abort(id, 'changed my mind'), { outcome: 'aborted' });
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'aborted');
    assert.equal(task.abortReason, 'changed my mind');
    assert.equal(task.startedAt, null);
    assert.match(task.error!.message, /Aborted before it started: changed my mind/);
    assert.deepEqual(await db.taskman.abort(id), { outcome: 'already-ended', state: 'aborted' });
  });

  it('a running task that honours its AbortSignal ends aborted, with the reason', async () => {
    const id = await runningTask('abortable');
    assert.deepEqual(await db.taskman.abort(id, 'user clicked abort'), { outcome: 'abort-requested' });
    const task = await waitForState(db.taskman, id, 'aborted');
    assert.equal(task.abortReason, 'user clicked abort');
    assert.match(
      task.error!.message,
      /^Aborted: user clicked abort\. The runner then ended: AbortError: user clicked abort/,
    );
    assert.match(task.logs ?? '', /abortable: waiting/);
  });

  it('a running task that ignores abort and SIGTERM is killed with SIGKILL', async () => {
    const id = await runningTask('stubbornWithProgress');
    await db.taskman.abort(id);
    const task = await waitForState(db.taskman, id, 'aborted');
    assert.match(task.error!.message, /RunnerKilled: .*SIGKILL/);
    assert.match(task.logs ?? '', /stubborn: ignoring SIGTERM/);
  });

  it('a task over its timeout is aborted with "timeout after …"', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'hang', timeout: '300ms' });
    const task = await waitForState(db.taskman, id, 'aborted');
    assert.equal(task.abortReason, 'timeout after 300ms');
  });

  it('a task whose start-before passes while pending expires and never starts', async () => {
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'echo',
      runAfter: '2s',
      startBefore: '300ms',
    });
    const task = await waitForState(db.taskman, id, 'expired');
    assert.equal(task.startedAt, null);
    assert.equal(task.claimedAt, null);
    assert.equal(task.error?.name, 'TaskExpired');
  });

  it('a start-before already past is never claimed, even before any sweep marks it', async () => {
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'echo',
      startBefore: new Date(Date.now() - 60_000),
    });
    const task = await waitForState(db.taskman, id, 'expired');
    assert.equal(task.attempt, 0);
  });

  it('a start-before in the future does not stop a task that can start now', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo', startBefore: '1m' });
    await waitForState(db.taskman, id, 'succeeded');
  });
});
