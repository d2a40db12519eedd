import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claimTasks, markStarted } from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('graceful shutdown and the outcome journal', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('stop() lets a running task finish within the limit, then removes the scheduler row', async () => {
    const scheduler = await startScheduler(db.taskman);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'sleep', payload: { ms: 400 } });
    await waitFor('the task to start', async () => (await db.taskman.get(id)).startedAt !== null);
    const schedulerId = scheduler.id;
    await scheduler.stop({ timeoutMs: 10_000 });
    assert.equal((await db.taskman.get(id)).state, 'succeeded');
    assert.ok(!(await db.taskman.listSchedulers()).some((s) => s.id === schedulerId));
  });

  it('stop() aborts what is still running after the limit, with the reason "scheduler shutting down"', async () => {
    const scheduler = await startScheduler(db.taskman);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'abortable' });
    await waitFor('the task to start', async () => (await db.taskman.get(id)).progress.percent !== null);
    const pending = await db.taskman.submit({ application: 'fixture-basic', task: 'echo', runAfter: '1h' });
    await scheduler.stop({ timeoutMs: 200 });
    const task = await db.taskman.get(id);
    assert.equal(task.state, 'aborted');
    assert.equal(task.abortReason, 'scheduler shutting down');
    assert.equal((await db.taskman.get(pending.id)).state, 'pending', 'tasks it never claimed are left for others');
  });

  it('a new scheduler delivers the outcome a dead scheduler process left in its journal', async () => {
    const ghost = await registerScheduler(db.taskman.database, {
      host: os.hostname(),
      pid: 1,
      applications: [],
      concurrency: 1,
    });
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo' });
    await claimTasks(db.taskman.database, {
      schedulerId: ghost,
      application: 'fixture-basic',
      version: '1.0.0',
      limit: 1,
      heartbeatTimeoutMs: 60_000,
    });
    assert.equal(await markStarted(db.taskman.database, id, ghost, '1.0.0'), 'started');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-'));
    const orphan = path.join(journalDir, `outcomes-${os.hostname()}-${deadPid}.jsonl`);
    const outcome = {
      state: 'succeeded',
      resultJson: '{"from":"the journal"}',
      logs: 'kept\n',
      progress: { percent: 100, message: 'done' },
    };
    fs.writeFileSync(
      orphan,
      [
        JSON.stringify({ type: 'outcome', entry: { taskId: id, schedulerId: ghost, outcome } }),
        '{"type":"outc', // torn by the crash
        '',
      ].join('\n'),
    );
    const scheduler = await startScheduler(db.taskman, ['esm'], { journalDir });
    try {
      const task = await waitForState(db.taskman, id, 'succeeded');
      assert.deepEqual(task.result, { from: 'the journal' });
      assert.equal(task.logs, 'kept\n');
      assert.ok(!fs.existsSync(orphan), "the dead process's journal is removed once adopted");
    } finally {
      await scheduler.stop();
    }
  });
});
