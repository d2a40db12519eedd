import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { registerScheduler } from '../../src/core/database/schedulers';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

function inspectorTargets(port: number): Promise<{ type: string }[]> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/json/list' }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

describe('a task submitted for debugging', () => {
  let db: TestDatabase;
  let debuggingScheduler: Scheduler;
  let otherScheduler: Scheduler;

  before(async () => {
    db = await createTestDatabase();
    otherScheduler = await startScheduler(db.taskman);
    debuggingScheduler = await startScheduler(db.taskman);
  });
  after(async () => {
    await otherScheduler.stop();
    await debuggingScheduler.stop();
    await db.drop();
  });

  it('runs only in the scheduler that debugs it, under the inspector, paused before any task code', async () => {
    const ports: [string, number][] = [];
    debuggingScheduler.on('task-debuggable', (taskId, port) => ports.push([taskId, port]));
    otherScheduler.on('task-debuggable', () => assert.fail('another scheduler ran the debugged task'));
    const { id } = await db.taskman.submit({
      application: 'fixture-basic',
      task: 'echo',
      debugSchedulerId: debuggingScheduler.id,
    });
    const [, port] = await waitFor('the inspector to listen', () => ports.find(([taskId]) => taskId === id));
    const task = await db.taskman.get(id);
    assert.deepEqual(
      [task.state, task.schedulerId, task.debugSchedulerId],
      ['running', debuggingScheduler.id, debuggingScheduler.id],
    );
    const targets = await inspectorTargets(port);
    assert.equal(targets[0].type, 'node');
    // Nobody attaches: the runner waits; the user gives up and aborts it.
    await db.taskman.abort(id, 'no debugger came');
    const aborted = await waitForState(db.taskman, id, 'aborted');
    assert.equal(aborted.abortReason, 'no debugger came');
  });

  it('is aborted, never run elsewhere, when the scheduler that was to debug it dies first', async () => {
    const ghost = await registerScheduler(db.taskman.database, {
      host: 'gone',
      pid: 1,
      applications: [],
      concurrency: 1,
    });
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo', debugSchedulerId: ghost });
    await db.sql.query('UPDATE taskman_scheduler SET heartbeat_at = NOW(6) - INTERVAL 1 HOUR WHERE id = ?', [ghost]);
    const task = await waitForState(db.taskman, id, 'aborted');
    assert.equal(task.abortReason, 'debug session ended');
    assert.equal(task.startedAt, null);
    assert.equal(task.attempt, 0);
  });
});
