// Pausing an application: from their next poll no scheduler claims its tasks, whichever client
// paused it; its running tasks go on, submitting still works, and resume lets them run.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Scheduler, Taskman } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { FAST_TIMINGS, startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('pause and resume an application', () => {
  let db: TestDatabase;
  let elsewhere: Taskman;
  let client: Taskman;
  const schedulers: Scheduler[] = [];

  before(async () => {
    db = await createTestDatabase();
    // A second scheduler on its own connection, as on another host; the pausing client runs none.
    elsewhere = await Taskman.connect({ url: db.url });
    client = await Taskman.connect({ url: db.url });
    schedulers.push(await startScheduler(db.taskman, ['basic'], { concurrency: 2 }));
    schedulers.push(await startScheduler(elsewhere, ['basic'], { concurrency: 2 }));
  });
  after(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await elsewhere.close();
    await client.close();
    await db.drop();
  });

  /** Resolves once every scheduler has heartbeated twice after `since` (database clock): each has polled since. */
  const pollsSince = (since: Date) =>
    waitFor(
      'both schedulers to have polled since the pause',
      async () => {
        const rows = await client.listSchedulers();
        return (
          rows.length === 2 &&
          rows.every((s) => s.heartbeatAt.getTime() > since.getTime() + 2 * FAST_TIMINGS.heartbeatIntervalMs)
        );
      },
      { timeoutMs: 10_000 },
    );

  it('stops claims within one poll on both schedulers; the running task goes on; resume runs the rest', async () => {
    const { id: running } = await client.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 1500 } });
    await waitForState(client, running, 'running');
    const paused = await client.pause('fixture-basic', 'maintenance window');
    assert.equal(paused.reason, 'maintenance window');
    const waiting = await Promise.all(
      Array.from({ length: 4 }, async () => (await client.submit({ application: 'fixture-basic', task: 'echo' })).id),
    );
    await pollsSince(paused.pausedAt);
    for (const id of waiting) assert.equal((await client.get(id)).state, 'pending', `task ${id} waits while paused`);
    await waitForState(client, running, 'succeeded');
    assert.deepEqual(
      (await client.pausedApplications()).map((p) => p.application),
      ['fixture-basic'],
    );

    assert.equal(await client.resume('fixture-basic'), true);
    for (const id of waiting) await waitForState(client, id, 'succeeded');
    assert.deepEqual(await client.pausedApplications(), []);
  });

  it('pausing again keeps the first time and takes the new reason; resuming what is not paused says so', async () => {
    const first = await client.pause('other-app');
    const again = await client.pause('other-app', 'still');
    assert.equal(again.pausedAt.getTime(), first.pausedAt.getTime());
    assert.equal(again.reason, 'still');
    assert.equal(await client.resume('other-app'), true);
    assert.equal(await client.resume('other-app'), false);
  });

  it('an invalid application name is refused and changes nothing', async () => {
    await assert.rejects(client.pause('no such/app'), {
      code: 'INVALID_INPUT',
      message: /Application name "no such\/app" is invalid/,
    });
    await assert.rejects(client.resume(''), { code: 'INVALID_INPUT' });
    assert.deepEqual(await client.pausedApplications(), []);
  });
});
