import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { isProcessAlive } from '../../src/core/processes';
import { claimTasks } from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { connectionOptions, createTestDatabase, type TestDatabase } from '../helpers/database';
import { spawnScheduler, waitForRegistration } from '../helpers/processes';
import { FAST_TIMINGS, startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('schedulers that die, pause or vanish', () => {
  let db: TestDatabase;
  let survivor: Scheduler;

  before(async () => {
    db = await createTestDatabase();
    await db.sql.query('CREATE TABLE executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)');
  });
  after(async () => {
    await survivor?.stop();
    await db.drop();
  });

  it('a scheduler killed with SIGKILL mid-task: its started task becomes lost once another sweeps, and its runner exits', async () => {
    const doomed = spawnScheduler(db.url, ['basic']);
    const doomedId = await waitForRegistration(doomed);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'waitWithPid' });
    const running = await waitFor('the task to run in the doomed scheduler', async () => {
      const task = await db.taskman.get(id);
      return task.progress.message?.startsWith('pid ') ? task : undefined;
    });
    assert.equal(running.schedulerId, doomedId);
    const runnerPid = Number(running.progress.message!.slice(4));
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await waitFor(`runner ${runnerPid} to exit after its scheduler died`, () => !isProcessAlive(runnerPid));

    survivor = await startScheduler(db.taskman, ['esm']);
    const lost = await waitForState(db.taskman, id, 'lost');
    assert.equal(lost.error?.name, 'TaskLost');
    assert.match(
      lost.error!.message,
      new RegExp(`scheduler ${doomedId} .* stopped heartbeating .* never re-runs it automatically`),
    );
    assert.ok(!(await db.taskman.listSchedulers()).some((s) => s.id === doomedId));
  });

  it('a task claimed by a scheduler that died before starting it goes back to pending and runs once', async () => {
    const deadId = await registerScheduler(db.taskman.database, {
      host: 'gone',
      pid: 999999,
      applications: [],
      concurrency: 1,
    });
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'record',
      payload: { connection: connectionOptions(db.url), table: 'executions' },
    });
    const [claimed] = await claimTasks(db.taskman.database, {
      schedulerId: deadId,
      application: 'fixture-basic',
      version: '1.0.0',
      limit: 1,
      heartbeatTimeoutMs: 60_000,
    });
    assert.equal(claimed.id, id);
    await db.sql.query('UPDATE taskman_scheduler SET heartbeat_at = NOW(6) - INTERVAL 1 HOUR WHERE id = ?', [deadId]);
    const runner = await startScheduler(db.taskman, ['basic']);
    try {
      const task = await waitForState(db.taskman, id, ['succeeded', 'failed']);
      assert.equal(task.state, 'succeeded', JSON.stringify(task.error));
      // The dead scheduler's claim never started it: the sweep takes that attempt back, as a release does.
      assert.equal(task.attempt, 1);
      const [rows] = await db.sql.query('SELECT runs FROM executions WHERE task_id = ?', [id]);
      assert.deepEqual(rows, [{ runs: 1 }]);
    } finally {
      await runner.stop();
    }
  });

  it('a paused (SIGSTOP) scheduler past its timeout: its task is lost, its late write refused, and it re-registers', async () => {
    const zombie = spawnScheduler(db.url, ['basic']);
    const zombieId = await waitForRegistration(zombie);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 1500 } });
    await waitFor('the zombie to start the task', async () => (await db.taskman.get(id)).startedAt !== null);
    zombie.child.kill('SIGSTOP');
    const lost = await waitForState(db.taskman, id, 'lost', 20_000);
    assert.equal(lost.schedulerId, zombieId);
    // The runner finishes while its scheduler is paused; the scheduler wakes up with a result it may not write.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    zombie.child.kill('SIGCONT');
    const newId = await waitForRegistration(zombie, 2);
    assert.notEqual(newId, zombieId);
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'lost');
    assert.equal(task.result, null);
    assert.match(zombie.stderr(), /declared dead/, zombie.stderr());
    // Alive and working under its new id.
    const next = await db.taskman.submit({ application: 'fixture-basic', task: 'echo' });
    const done = await waitForState(db.taskman, next.id, 'succeeded');
    assert.equal(done.schedulerId, newId);
    zombie.child.kill('SIGTERM');
    assert.equal(await zombie.exited, 0);
  });

  it('uses test timings small enough for seconds-long tests', () => {
    assert.ok(FAST_TIMINGS.heartbeatTimeoutMs < 5000);
  });
});
