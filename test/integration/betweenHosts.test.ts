import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import {
  claimTasks,
  expireOverdueTasks,
  finishTasks,
  purgeEndedTasks,
  releaseStrayTasks,
} from '../../src/core/database/lifecycle';
import { withLease } from '../../src/core/database/leaseLock';
import { waitForClaimableTask } from '../../src/core/database/waitForClaimableTask';
import { findOwnedRunningTasks } from '../../src/core/database/runningTasks';
import { registerScheduler, settleOrphanedTasks } from '../../src/core/database/schedulers';
import { connectionOptions, createTestDatabase, type TestDatabase } from '../helpers/database';

/** The statements that keep the protocol between hosts: reconciliation, orphans, locks skipped, the lease. */
describe('between hosts: the store', () => {
  let db: TestDatabase;
  let schedulerId: string;
  /** Another client's session, for holding row locks as a scheduler cut off mid-claim would. */
  let other: mysql.Connection;

  before(async () => {
    db = await createTestDatabase();
    schedulerId = await registerScheduler(db.taskman.database, {
      host: 'test',
      pid: 1,
      applications: [],
      concurrency: 10,
    });
    other = await mysql.createConnection(connectionOptions(db.url) as mysql.ConnectionOptions);
  });
  after(async () => {
    await other.end();
    await db.drop();
  });

  const claim = (application: string, startNow = 0) =>
    claimTasks(db.taskman.database, {
      schedulerId,
      application,
      version: '1',
      limit: 10,
      startNow,
      heartbeatTimeoutMs: 60_000,
    });

  it('sets the session bounds on every connection: wait_timeout, lock wait, READ COMMITTED, UTC', async () => {
    const [row] = await db.taskman.database.select<Record<string, string>>(
      'SELECT @@session.wait_timeout AS idle, @@session.innodb_lock_wait_timeout AS lockWait, @@session.tx_isolation AS isolation, @@session.time_zone AS zone',
    );
    assert.deepEqual(
      { ...row, idle: String(row.idle), lockWait: String(row.lockWait) },
      { idle: '6', lockWait: '3', isolation: 'READ-COMMITTED', zone: '+00:00' },
    );
  });

  it('puts back strays, even those the claim marked started, with the attempt restored; fenced; an abort asked meanwhile ends it aborted', async () => {
    const a = await db.taskman.submit({ application: 'strays', task: 't' });
    const b = await db.taskman.submit({ application: 'strays', task: 't' });
    const claimed = await claim('strays', 2);
    assert.deepEqual(
      claimed.map((t) => [t.id, t.startedAt !== null]),
      [
        [a.id, true],
        [b.id, true],
      ],
    );
    assert.deepEqual((await findOwnedRunningTasks(db.taskman.database, schedulerId)).sort(), [a.id, b.id].sort());
    await db.taskman.abort(b.id);
    const otherScheduler = await registerScheduler(db.taskman.database, {
      host: 'other',
      pid: 2,
      applications: [],
      concurrency: 1,
    });
    assert.equal(
      await releaseStrayTasks(db.taskman.database, [a.id, b.id], otherScheduler),
      0,
      'fenced by the scheduler id',
    );
    assert.equal(await releaseStrayTasks(db.taskman.database, [a.id, b.id], schedulerId), 2);
    const [ta, tb] = [await db.taskman.get(a.id), await db.taskman.get(b.id)];
    assert.deepEqual(
      [ta.state, ta.attempt, ta.schedulerId, ta.startedAt, ta.claimedAt],
      ['pending', 0, null, null, null],
    );
    assert.equal(tb.state, 'aborted');
    assert.equal(
      await releaseStrayTasks(db.taskman.database, [a.id], schedulerId),
      0,
      'a second release changes nothing',
    );
  });

  it('an outcome written again after its reply was lost is found written, not refused as if the task were lost', async () => {
    const { id } = await db.taskman.submit({ application: 'twice-written', task: 't' });
    await claim('twice-written', 1);
    const outcome = {
      state: 'succeeded' as const,
      resultJson: '{"ok":true}',
      logs: '',
      progress: { percent: 100, message: null },
    };
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, schedulerId, [{ taskId: id, outcome }])).keys()],
      [id],
    );
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, schedulerId, [{ taskId: id, outcome }])).keys()],
      [id],
      'the second attempt finds its own write',
    );
    const other = await registerScheduler(db.taskman.database, { host: 'x', pid: 9, applications: [], concurrency: 1 });
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, other, [{ taskId: id, outcome }])).keys()],
      [],
      'another scheduler id is refused',
    );
  });

  it('settles the running tasks of a scheduler whose row is gone, and never a live one', async () => {
    const gone = await registerScheduler(db.taskman.database, {
      host: 'gone',
      pid: 3,
      applications: [],
      concurrency: 2,
    });
    const started = await db.taskman.submit({ application: 'orphans', task: 't' });
    const held = await db.taskman.submit({ application: 'orphans', task: 't' });
    await claimTasks(db.taskman.database, {
      schedulerId: gone,
      application: 'orphans',
      version: '1',
      limit: 2,
      startNow: 1,
      heartbeatTimeoutMs: 60_000,
    });
    const live = await db.taskman.submit({ application: 'orphans-live', task: 't' });
    await claim('orphans-live', 1);
    await db.taskman.database.write(`DELETE FROM \`${db.taskman.database.tables.scheduler}\` WHERE id = ?`, [gone]);
    const settled = await settleOrphanedTasks(db.taskman.database);
    assert.deepEqual(settled, { schedulers: [gone], requeued: 1, lost: 1, retried: 0 });
    assert.equal((await db.taskman.get(started.id)).state, 'lost');
    assert.equal((await db.taskman.get(held.id)).state, 'pending');
    assert.equal((await db.taskman.get(live.id)).state, 'running');
    assert.deepEqual(await settleOrphanedTasks(db.taskman.database), {
      schedulers: [],
      requeued: 0,
      lost: 0,
      retried: 0,
    });
  });

  it('expires and purges around rows another session holds, without waiting for them', async () => {
    const t = db.taskman.database.tables.task;
    const past = new Date(Date.now() - 3_600_000);
    const overdue = [
      await db.taskman.submit({ application: 'expiry', task: 't', startBefore: past }),
      await db.taskman.submit({ application: 'expiry', task: 't', startBefore: past }),
    ];
    await other.query('START TRANSACTION');
    await other.query(`SELECT id FROM \`${t}\` WHERE id = ? FOR UPDATE`, [overdue[0].id]);
    // A statement that waited for the lock would fail with a lock wait timeout instead.
    assert.equal(await expireOverdueTasks(db.taskman.database), 1, 'the locked one is left for the next round');
    assert.equal((await db.taskman.get(overdue[0].id)).state, 'pending');
    await other.query('COMMIT');
    assert.equal(await expireOverdueTasks(db.taskman.database), 1);
    assert.equal((await db.taskman.get(overdue[0].id)).state, 'expired');

    await other.query('START TRANSACTION');
    await other.query(`SELECT id FROM \`${t}\` WHERE id = ? FOR UPDATE`, [overdue[1].id]);
    const purged = await purgeEndedTasks(db.taskman.database, { age: { olderThanMs: 0 } });
    assert.ok(purged >= 1);
    assert.equal((await db.taskman.get(overdue[1].id)).state, 'expired', 'the locked ended row was skipped');
    await other.query('COMMIT');
    assert.ok((await purgeEndedTasks(db.taskman.database, { age: { olderThanMs: 0 } })) >= 1);
    await assert.rejects(db.taskman.get(overdue[1].id), { code: 'TASK_NOT_FOUND' });
  });

  it('the wait inside the database reads past rows another session holds: it never queues behind a claim', async () => {
    const { id } = await db.taskman.submit({ application: 'held-by-other', task: 't' });
    await other.query('START TRANSACTION');
    await other.query(`SELECT id FROM \`${db.taskman.database.tables.task}\` WHERE id = ? FOR UPDATE`, [id]);
    try {
      // A locking read would wait the session's 3 s lock wait, then fail as a conflict.
      const found = await waitForClaimableTask(
        db.taskman.database,
        {
          schedulerId,
          applications: [{ name: 'held-by-other', version: '1' }],
          pace: { fastestMs: 5, slowestMs: 5, idleMs: 0 },
          maxWaitMs: 50,
        },
        new AbortController().signal,
      );
      assert.equal(found, 'held-by-other');
    } finally {
      await other.query('ROLLBACK');
    }
  });

  it("a lease lets one holder at a time run its body, and a dead holder's lease is taken over once expired", async () => {
    const order: string[] = [];
    const body = (name: string) => async () => {
      order.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      order.push(`${name} out`);
    };
    await Promise.all([
      withLease(db.taskman.database, 'test-lease', 10, body('a')),
      withLease(db.taskman.database, 'test-lease', 10, body('b')),
    ]);
    assert.deepEqual(
      order.map((step) => step.split(' ')[1]),
      ['in', 'out', 'in', 'out'],
    );
    const lock = db.taskman.database.tables.lock;
    await db.taskman.database.write(
      `INSERT INTO \`${lock}\` (name, holder, expires_at) VALUES ('dead-lease', 'crashed:1', NOW(6) - INTERVAL 1 SECOND)`,
    );
    assert.equal(await withLease(db.taskman.database, 'dead-lease', 5, async () => 'ran'), 'ran');
    await db.taskman.database.write(
      `INSERT INTO \`${lock}\` (name, holder, expires_at) VALUES ('held-lease', 'alive:1', NOW(6) + INTERVAL 1 MINUTE)`,
    );
    await assert.rejects(
      withLease(db.taskman.database, 'held-lease', 1, async () => 'ran'),
      /Timed out after 1s waiting for the lock "held-lease" held by alive:1/,
    );
  });
});
