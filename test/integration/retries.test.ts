import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { claimTasks, finishTasks, type Outcome } from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { isProcessAlive } from '../../src/core/processes';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { spawnScheduler, waitForRegistration } from '../helpers/processes';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

// fixture-retrying's taskOptions: every task waits 100 ms (doubling, at most 150 ms) before a
// retry; flaky has 2 retries; waitOnFirstAttempt 1 and is idempotent; hang 2, with a 300 ms timeout.
const RETRYING = 'fixture-retrying';

describe('retries', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['retrying', 'basic']);
  });
  after(async () => {
    await scheduler?.stop();
    await db.drop();
  });

  it('a task that fails twice with retries 2 from the config succeeds on attempt 3, both errors kept', async () => {
    const { id } = await db.taskman.submit({ application: RETRYING, task: 'flaky', payload: { failures: 2 } });
    const task = await waitForState(db.taskman, id, ['succeeded', 'failed']);
    assert.equal(task.state, 'succeeded');
    assert.deepEqual(task.result, { attempt: 3 });
    assert.equal(task.attempt, 3);
    assert.equal(task.error, null, 'the last, successful attempt has no error');
    assert.equal(task.retries, 2, 'the config gave its retries, stamped when it started');
    assert.equal(task.idempotent, false);
    const attempts = await db.taskman.attempts(id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.state, a.error?.message]),
      [
        [1, 'failed', 'failing attempt 1'],
        [2, 'failed', 'failing attempt 2'],
      ],
    );
    for (const attempt of attempts) {
      assert.equal(attempt.schedulerId, task.schedulerId);
      assert.match(attempt.logs ?? '', new RegExp(`flaky: attempt ${attempt.attempt}`));
      assert.ok(attempt.startedAt && attempt.startedAt <= attempt.endedAt);
    }
    // 100 ms, then 200 ms capped at 150 ms; each jittered down by at most a quarter.
    const waits = attempts.map((a) => a.retryAt.getTime() - a.endedAt.getTime());
    assert.ok(waits[0] >= 75 && waits[0] <= 100, `first wait ${waits[0]} ms`);
    assert.ok(waits[1] >= 112 && waits[1] <= 150, `second wait ${waits[1]} ms`);
  });

  it('a task that keeps failing ends failed after its last attempt, with the earlier ones kept', async () => {
    const { id } = await db.taskman.submit({ application: RETRYING, task: 'flaky', payload: { failures: 9 } });
    const task = await waitForState(db.taskman, id, ['succeeded', 'failed']);
    assert.equal(task.state, 'failed');
    assert.equal(task.attempt, 3);
    assert.equal(task.error?.message, 'failing attempt 3');
    assert.deepEqual(
      (await db.taskman.attempts(id)).map((a) => a.attempt),
      [1, 2],
    );
  });

  it('no retries unless configured: a failing task of an application without taskOptions fails once', async () => {
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'flaky', payload: { failures: 1 } });
    const task = await waitForState(db.taskman, id, ['succeeded', 'failed']);
    assert.equal(task.state, 'failed');
    assert.equal(task.attempt, 1);
    assert.equal(task.retries, null);
    assert.deepEqual(await db.taskman.attempts(id), []);
  });

  it("a submission's own retries win over the config's, and over none", async () => {
    const own = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'flaky',
      payload: { failures: 1 },
      retries: 1,
      retryDelay: '50ms',
    });
    const fewer = await db.taskman.submit({
      application: RETRYING,
      task: 'flaky',
      payload: { failures: 1 },
      retries: 0,
    });
    const [succeeded, failed] = await Promise.all([
      waitForState(db.taskman, own.id, ['succeeded', 'failed']),
      waitForState(db.taskman, fewer.id, ['succeeded', 'failed']),
    ]);
    assert.equal(succeeded.state, 'succeeded');
    assert.equal(succeeded.attempt, 2);
    assert.equal(succeeded.retryDelayMs, 50);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempt, 1);
  });

  it('a task aborted by its timeout is not retried, although it has retries', async () => {
    const { id } = await db.taskman.submit({ application: RETRYING, task: 'hang' });
    const task = await waitForState(db.taskman, id, ['aborted', 'failed', 'succeeded']);
    assert.equal(task.state, 'aborted');
    assert.match(task.abortReason ?? '', /timeout after 300ms/);
    assert.equal(task.attempt, 1);
    assert.deepEqual(await db.taskman.attempts(id), []);
  });

  it('a task waiting for its next attempt can be aborted, and then never runs again', async () => {
    const { id } = await db.taskman.submit({
      application: RETRYING,
      task: 'flaky',
      payload: { failures: 9 },
      retryDelay: '1h',
    });
    const waiting = await waitFor('the task to wait for its second attempt', async () => {
      const task = await db.taskman.get(id);
      return task.state === 'pending' && task.attempt === 1 ? task : undefined;
    });
    assert.equal(waiting.error?.message, 'failing attempt 1', 'the row says why it waits');
    assert.ok(waiting.runAfter.getTime() - Date.now() > 30 * 60_000);
    assert.equal((await db.taskman.abort(id)).outcome, 'aborted');
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'aborted');
    assert.equal(task.attempt, 1);
  });

  it('a retry written again after its reply was lost counts as written and records the attempt once', async () => {
    const { id } = await db.taskman.submit({ application: 'lost-reply-app', task: 'work' });
    const schedulerId = await registerScheduler(db.taskman.database, {
      host: 'test',
      pid: 1,
      applications: [],
      concurrency: 1,
    });
    const [claimed] = await claimTasks(db.taskman.database, {
      schedulerId,
      application: 'lost-reply-app',
      version: '1',
      limit: 1,
      startNow: 1,
      heartbeatTimeoutMs: 60_000,
    });
    assert.equal(claimed.id, id);
    const outcome: Outcome = {
      state: 'failed',
      error: { name: 'Error', message: 'boom' },
      logs: 'some output',
      progress: { percent: null, message: null },
      retry: { attempt: 1, delayMs: 3_600_000 },
    };
    const first = await finishTasks(db.taskman.database, schedulerId, [{ taskId: id, outcome }]);
    const again = await finishTasks(db.taskman.database, schedulerId, [{ taskId: id, outcome }]);
    assert.deepEqual([...first], [[id, 'retried']]);
    assert.deepEqual([...again], [[id, 'retried']], 'the second write finds the first');
    const other = await registerScheduler(db.taskman.database, { host: 'x', pid: 2, applications: [], concurrency: 1 });
    assert.deepEqual([...(await finishTasks(db.taskman.database, other, [{ taskId: id, outcome }]))], []);
    const attempts = await db.taskman.attempts(id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.state, a.logs]),
      [[1, 'failed', 'some output']],
    );
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'pending');
    assert.equal(task.schedulerId, null);
    assert.equal(task.logs, null);
    await db.taskman.abort(id);
  });
});

describe('retries after a crash: only idempotent tasks run again', () => {
  let db: TestDatabase;
  let survivor: Scheduler | undefined;

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await survivor?.stop();
    await db.drop();
  });

  it('SIGKILL of the scheduler mid-run: the idempotent task is retried and succeeds, the other ends lost', async () => {
    const doomed = spawnScheduler(db.url, ['retrying']);
    const doomedId = await waitForRegistration(doomed);
    const idempotent = await db.taskman.submit({ application: RETRYING, task: 'waitOnFirstAttempt' });
    const notIdempotent = await db.taskman.submit({
      application: RETRYING,
      task: 'waitOnFirstAttempt',
      idempotent: false,
    });
    const pids = await Promise.all(
      [idempotent.id, notIdempotent.id].map((id) =>
        waitFor(`task ${id} to run in the doomed scheduler`, async () => {
          const task = await db.taskman.get(id);
          return task.progress.message?.startsWith('pid ') ? Number(task.progress.message.slice(4)) : undefined;
        }),
      ),
    );
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    for (const pid of pids) await waitFor(`runner ${pid} to exit with its scheduler`, () => !isProcessAlive(pid));

    survivor = await startScheduler(db.taskman, ['retrying']);
    const lost = await waitForState(db.taskman, notIdempotent.id, 'lost');
    assert.equal(lost.error?.name, 'TaskLost');
    assert.match(lost.error!.message, /never re-runs it automatically/);
    assert.deepEqual(await db.taskman.attempts(notIdempotent.id), []);

    const retried = await waitForState(db.taskman, idempotent.id, ['succeeded', 'failed', 'lost']);
    assert.equal(retried.state, 'succeeded');
    assert.deepEqual(retried.result, { attempt: 2 });
    const [first] = await db.taskman.attempts(idempotent.id);
    assert.equal(first.state, 'lost');
    assert.equal(first.schedulerId, doomedId);
    assert.equal(first.error?.name, 'TaskLost');
    assert.match(first.error!.message, /it is idempotent, so Taskman runs it again/);
  });
});
