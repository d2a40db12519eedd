import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureEmbeddedServer, type Scheduler, stopEmbeddedServer, Taskman } from '../../src/core';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

// This file stops and restarts its database server, so it starts a private one of its own.
describe('the MySQL server stopped and restarted while tasks run', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-outage-'));
  let taskman: Taskman;
  let scheduler: Scheduler;
  const events: string[] = [];

  before(async () => {
    const server = await ensureEmbeddedServer({ dataDir });
    taskman = await Taskman.connect({ url: server.url });
    scheduler = await startScheduler(taskman, ['basic']);
    scheduler.on('database-unavailable', () => events.push('unavailable'));
    scheduler.on('database-available', () => events.push('available'));
  });
  after(async () => {
    await taskman.close();
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  for (const round of [1, 2]) {
    it(`round ${round}: every outcome finished during the outage reaches the database`, async () => {
      const ids = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          taskman.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 600 + i } }).then((r) => r.id),
        ),
      );
      await waitFor('all four to start', async () =>
        (await Promise.all(ids.map((id) => taskman.get(id)))).every((t) => t.startedAt !== null),
      );
      const schedulerId = scheduler.id;
      assert.ok(await stopEmbeddedServer({ dataDir }));
      // The runners finish while the server is down: their outcomes can only go to the journal.
      await waitFor('the runners to finish during the outage', () => scheduler.runningCount === 0, {
        timeoutMs: 10_000,
      });
      await waitFor('the scheduler to notice the outage', () => events.includes('unavailable'));
      await ensureEmbeddedServer({ dataDir });
      for (const [i, id] of ids.entries()) {
        const task = await waitForState(taskman, id, 'succeeded', 30_000);
        assert.deepEqual(task.result, { slept: 600 + i });
      }
      assert.equal(scheduler.id, schedulerId, 'the scheduler kept its identity through the outage');
      const after = await taskman.submit({ application: 'fixture-basic', task: 'echo' });
      await waitForState(taskman, after.id, 'succeeded');
      assert.equal(events.at(-1), 'available');
      events.length = 0;
    });
  }
});
