import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  claimTasks,
  finishAndStart,
  finishTasks,
  hasClaimableTask,
  markStarted,
  markStartedBatch,
  releaseClaimedTasks,
} from '../../src/core/database/lifecycle';
import { registerScheduler } from '../../src/core/database/schedulers';
import { InvalidInputError, TaskNotEndedError, TaskNotFoundError } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('the task store', () => {
  let db: TestDatabase;
  let schedulerId: string;
  const claim = (application: string, version: string, limit = 10) =>
    claimTasks(db.taskman.database, { schedulerId, application, version, limit, heartbeatTimeoutMs: 60_000 });

  before(async () => {
    db = await createTestDatabase();
    schedulerId = await registerScheduler(db.taskman.database, {
      host: 'test',
      pid: 1,
      applications: [],
      concurrency: 10,
    });
  });
  after(() => db.drop());

  it('a second submit with the same key returns the first task while it has not ended', async () => {
    const first = await db.taskman.submit({ application: 'keys', task: 'a', key: 'order-42', payload: { n: 1 } });
    const second = await db.taskman.submit({ application: 'keys', task: 'a', key: 'order-42', payload: { n: 2 } });
    assert.deepEqual(second, { id: first.id, created: false });
    const other = await db.taskman.submit({ application: 'keys-other', task: 'a', key: 'order-42' });
    assert.equal(other.created, true);
    await db.taskman.abort(first.id);
    const third = await db.taskman.submit({ application: 'keys', task: 'a', key: 'order-42' });
    assert.equal(third.created, true);
    assert.notEqual(third.id, first.id);
  });

  it('concurrent submits with one key create exactly one task', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => db.taskman.submit({ application: 'keys', task: 'b', key: 'race' })),
    );
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1);
  });

  it('claims by priority (lower first), then submission order, in batches', async () => {
    const low = await db.taskman.submit({ application: 'prio', task: 't', priority: 5 });
    const first = await db.taskman.submit({ application: 'prio', task: 't' });
    const urgent = await db.taskman.submit({ application: 'prio', task: 't', priority: -1 });
    const second = await db.taskman.submit({ application: 'prio', task: 't' });
    const claimed = await claim('prio', '1', 3);
    assert.deepEqual(
      claimed.map((t) => t.id),
      [urgent.id, first.id, second.id],
    );
    for (const task of claimed) {
      assert.equal(task.state, 'running');
      assert.equal(task.schedulerId, schedulerId);
      assert.equal(task.attempt, 1);
    }
    assert.deepEqual(
      (await claim('prio', '1', 3)).map((t) => t.id),
      [low.id],
    );
    assert.deepEqual(await claim('prio', '1', 3), []);
  });

  it('does not claim before run_after, nor a task pinned to another version', async () => {
    const later = await db.taskman.submit({ application: 'gate', task: 't', runAfter: '1h' });
    const pinned = await db.taskman.submit({ application: 'gate', task: 't', version: '2.0.0' });
    assert.deepEqual(await claim('gate', '1.0.0'), []);
    assert.deepEqual(
      (await claim('gate', '2.0.0')).map((t) => t.id),
      [pinned.id],
    );
    assert.equal((await db.taskman.get(later.id)).state, 'pending');
  });

  it('claims nothing, at once, for a scheduler whose row is locked by a sweeper, stale or gone', async () => {
    const { id } = await db.taskman.submit({ application: 'fence', task: 't' });
    const other = await registerScheduler(db.taskman.database, {
      host: 'test',
      pid: 2,
      applications: [],
      concurrency: 1,
    });
    const asOther = () =>
      claimTasks(db.taskman.database, {
        schedulerId: other,
        application: 'fence',
        version: '1',
        limit: 1,
        heartbeatTimeoutMs: 60_000,
      });
    assert.equal(
      await hasClaimableTask(db.taskman.database, { schedulerId: other, application: 'fence', version: '1' }),
      true,
    );
    await db.sql.query('BEGIN');
    await db.sql.query('SELECT id FROM taskman_scheduler WHERE id = ? FOR UPDATE', [other]);
    try {
      assert.deepEqual(await asOther(), [], 'a sweeper holds its row: no claim, no wait');
    } finally {
      await db.sql.query('COMMIT');
    }
    await db.sql.query('UPDATE taskman_scheduler SET heartbeat_at = NOW(6) - INTERVAL 2 MINUTE WHERE id = ?', [other]);
    assert.deepEqual(await asOther(), [], 'a stale heartbeat claims nothing');
    await db.sql.query('DELETE FROM taskman_scheduler WHERE id = ?', [other]);
    assert.deepEqual(await asOther(), [], 'a swept scheduler claims nothing');
    const [claimed] = await claimTasks(db.taskman.database, {
      schedulerId,
      application: 'fence',
      version: '1',
      limit: 1,
      heartbeatTimeoutMs: 60_000,
    });
    assert.equal(claimed.id, id);
    assert.equal(claimed.state, 'running');
    assert.equal(claimed.attempt, 1);
    assert.equal(claimed.schedulerId, schedulerId);
    assert.deepEqual(await db.taskman.get(id).then((t) => [t.state, t.attempt, t.schedulerId]), [
      'running',
      1,
      schedulerId,
    ]);
    assert.equal(
      await hasClaimableTask(db.taskman.database, { schedulerId, application: 'fence', version: '1' }),
      false,
    );
  });

  it('marks a claimed batch started in one go, telling apart abort requests and tasks no longer ours', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: 'marks', task: 't' })).id);
    await claim('marks', '1');
    await db.taskman.abort(ids[1], 'changed my mind');
    await db.sql.query("UPDATE taskman_task SET scheduler_id = NULL, state = 'pending' WHERE id = ?", [ids[2]]);
    const marks = await markStartedBatch(db.taskman.database, ids, schedulerId, '1');
    assert.deepEqual(
      ids.map((id) => marks.get(id)),
      ['started', 'abort-requested', 'not-owned'],
    );
    assert.ok((await db.taskman.get(ids[0])).startedAt);
    // A repeated mark (its first reply was lost) still says started.
    assert.equal(await markStarted(db.taskman.database, ids[0], schedulerId, '1'), 'started');
  });

  it('marks started in the claim itself the tasks the scheduler starts at once, and only those', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: 'start-now', task: 't' })).id);
    const claimed = await claimTasks(db.taskman.database, {
      schedulerId,
      application: 'start-now',
      version: '2.0',
      limit: 3,
      startNow: 2,
      heartbeatTimeoutMs: 60_000,
    });
    assert.deepEqual(
      claimed.map((t) => [t.id, t.startedAt !== null, t.ranVersion]),
      [
        [ids[0], true, '2.0'],
        [ids[1], true, '2.0'],
        [ids[2], false, null],
      ],
    );
    const stored = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      stored.map((t) => [t.state, t.startedAt !== null, t.ranVersion]),
      [
        ['running', true, '2.0'],
        ['running', true, '2.0'],
        ['running', false, null],
      ],
    );
    assert.equal(
      stored[0].startedAt!.getTime(),
      stored[0].claimedAt!.getTime(),
      'started in the same statement that claimed it',
    );
    // The one claimed ahead is marked when it starts; the others already are.
    const marks = await markStartedBatch(db.taskman.database, ids, schedulerId, '2.0');
    assert.deepEqual(
      ids.map((id) => marks.get(id)),
      ['started', 'started', 'started'],
    );
  });

  it('does not mark started a claimed task whose start-before passed while it waited for a slot', async () => {
    const { id } = await db.taskman.submit({ application: 'overdue', task: 't', startBefore: '1h' });
    await claim('overdue', '1');
    await db.sql.query('UPDATE taskman_task SET start_before = NOW(6) - INTERVAL 1 SECOND WHERE id = ?', [id]);
    assert.equal(await markStarted(db.taskman.database, id, schedulerId, '1'), 'overdue');
    assert.equal((await db.taskman.get(id)).startedAt, null);
  });

  it('releases claimed tasks that never started back to pending, fenced, and never a started one', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: 'release', task: 't' })).id);
    await claim('release', '1');
    await markStarted(db.taskman.database, ids[2], schedulerId, '1');
    const other = await registerScheduler(db.taskman.database, {
      host: 'test',
      pid: 3,
      applications: [],
      concurrency: 1,
    });
    assert.equal(
      await releaseClaimedTasks(db.taskman.database, ids, other),
      0,
      'another scheduler releases nothing of ours',
    );
    assert.equal(await releaseClaimedTasks(db.taskman.database, ids, schedulerId), 2);
    const tasks = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      tasks.map((t) => [t.state, t.attempt, t.schedulerId, t.claimedAt]),
      [
        ['pending', 0, null, null],
        ['pending', 0, null, null],
        ['running', 1, schedulerId, tasks[2].claimedAt],
      ],
    );
    assert.ok(tasks[2].startedAt);
    const again = await claim('release', '1');
    assert.deepEqual(
      again.map((t) => [t.id, t.attempt]),
      [
        [ids[0], 1],
        [ids[1], 1],
      ],
      'released tasks are claimed again, as first attempts',
    );
  });

  it('writes outcomes that ended together in one go, each its own, and tells which were no longer ours', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: 'finish', task: 't' })).id);
    await claim('finish', '1');
    await db.taskman.abort(ids[1], 'asked first');
    await db.sql.query("UPDATE taskman_task SET scheduler_id = NULL, state = 'pending' WHERE id = ?", [ids[2]]);
    const progress = { percent: 100, message: 'done' };
    const outcomes = [
      { taskId: ids[0], outcome: { state: 'succeeded' as const, resultJson: '{"n":1}', logs: 'first log', progress } },
      {
        taskId: ids[1],
        outcome: {
          state: 'aborted' as const,
          error: { name: 'TaskAborted', message: 'Aborted: later reason.' },
          abortReason: 'later reason',
          logs: "it's 'quoted'",
          progress: { percent: 40, message: null },
        },
      },
      {
        taskId: ids[2],
        outcome: { state: 'failed' as const, error: { name: 'Error', message: 'never lands' }, logs: '', progress },
      },
    ];
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, schedulerId, outcomes)).keys()].sort(),
      [ids[0], ids[1]].sort(),
    );
    const [first, second, third] = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      [first.state, first.result, first.logs, first.progress.percent, first.progress.message],
      ['succeeded', { n: 1 }, 'first log', 100, 'done'],
    );
    assert.deepEqual(
      [second.state, second.error?.message, second.abortReason, second.logs, second.progress.percent],
      ['aborted', 'Aborted: later reason.', 'asked first', "it's 'quoted'", 40],
    );
    assert.equal(third.state, 'pending', 'a task no longer ours is left alone');
    // Written again (the first reply was lost): still reported as written, nothing changes.
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, schedulerId, outcomes.slice(0, 2))).keys()].sort(),
      [ids[0], ids[1]].sort(),
    );
    assert.equal((await db.taskman.get(ids[0])).logs, 'first log');
  });

  it('ends runs and marks their successors started together, each row fenced as alone', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await db.taskman.submit({ application: 'turns', task: 't' })).id);
    const claimed = await claimTasks(db.taskman.database, {
      schedulerId,
      application: 'turns',
      version: '1',
      limit: 6,
      startNow: 2,
      heartbeatTimeoutMs: 60_000,
    });
    assert.equal(claimed.length, 6);
    const [ending, endingNotOurs, heldA, heldAborted, heldOverdue, heldNotOurs] = ids;
    await db.sql.query("UPDATE taskman_task SET scheduler_id = NULL, state = 'pending' WHERE id IN (?, ?)", [
      endingNotOurs,
      heldNotOurs,
    ]);
    await db.taskman.abort(heldAborted, 'not now');
    await db.sql.query('UPDATE taskman_task SET start_before = NOW(6) - INTERVAL 1 SECOND WHERE id = ?', [heldOverdue]);
    const progress = { percent: 100, message: 'done' };
    const outcomes = [
      { taskId: ending, outcome: { state: 'succeeded' as const, resultJson: '{"n":1}', logs: 'ran', progress } },
      { taskId: endingNotOurs, outcome: { state: 'succeeded' as const, resultJson: '{}', logs: '', progress } },
    ];
    const starting = [heldA, heldAborted, heldOverdue, heldNotOurs].map((taskId) => ({ taskId, version: '3' }));
    const { written, marks } = await finishAndStart(db.taskman.database, schedulerId, outcomes, starting);
    assert.deepEqual([...written], [[ending, 'ended']]);
    assert.deepEqual(
      starting.map((run) => marks.get(run.taskId)),
      ['started', 'abort-requested', 'overdue', 'not-owned'],
    );
    const [ended, notOurs, started, aborted, overdue] = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      [ended.state, ended.result, ended.logs, ended.startedAt !== null],
      ['succeeded', { n: 1 }, 'ran', true],
    );
    assert.deepEqual(
      [notOurs.state, notOurs.result],
      ['pending', null],
      'an outcome for a task no longer ours changes nothing',
    );
    assert.deepEqual(
      [started.state, started.ranVersion, started.endedAt],
      ['running', '3', null],
      'a mark ends nothing',
    );
    assert.ok(started.startedAt);
    assert.deepEqual([aborted.startedAt, overdue.startedAt], [null, null]);
    // Written again (the reply was lost): the outcome is found written, the mark found started.
    const again = await finishAndStart(db.taskman.database, schedulerId, outcomes.slice(0, 1), starting.slice(0, 1));
    assert.deepEqual([[...again.written], [...again.marks]], [[[ending, 'ended']], [[heldA, 'started']]]);
    assert.equal((await db.taskman.get(heldA)).startedAt!.getTime(), started.startedAt!.getTime());
  });

  it('writes a batch whose outcomes share most values: shared ones once, the rest per row', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: 'finish-shared', task: 't' })).id);
    await claim('finish-shared', '1');
    await db.taskman.abort(ids[2], 'asked while running');
    const progress = { percent: null, message: null };
    const outcomes = ids.map((taskId, i) => ({
      taskId,
      outcome: { state: 'succeeded' as const, resultJson: JSON.stringify({ i }), logs: '', progress },
    }));
    assert.deepEqual(
      [...(await finishTasks(db.taskman.database, schedulerId, outcomes)).keys()].sort(),
      [...ids].sort(),
    );
    const tasks = await Promise.all(ids.map((id) => db.taskman.get(id)));
    assert.deepEqual(
      tasks.map((task) => [task.state, task.result, task.logs, task.error]),
      [0, 1, 2].map((i) => ['succeeded', { i }, '', null]),
    );
    assert.deepEqual(
      tasks.map((task) => task.abortReason),
      [null, null, 'asked while running'],
      'a shared empty abort reason keeps the one asked for',
    );
  });

  it('lists newest first with filters and keyset paging, leaving out result and logs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await db.taskman.submit({ application: 'paging', task: i % 2 ? 'odd' : 'even', payload: { i } })).id);
    const page1 = await db.taskman.list({ applications: ['paging'], limit: 3 });
    const page2 = await db.taskman.list({ applications: ['paging'], limit: 3, beforeId: page1[2].id });
    const page3 = await db.taskman.list({ applications: ['paging'], limit: 3, beforeId: page2[2].id });
    assert.deepEqual(
      [...page1, ...page2, ...page3].map((t) => t.id),
      [...ids].reverse(),
    );
    assert.deepEqual(
      (await db.taskman.list({ applications: ['paging'], task: 'odd' })).map((t) => t.payload),
      [{ i: 5 }, { i: 3 }, { i: 1 }],
    );
    assert.equal((await db.taskman.list({ applications: ['paging'], states: ['running'] })).length, 0);
    assert.equal(page1[0].logs, null);
    const since = page1[0].updatedAt;
    await db.taskman.abort(ids[0]);
    const changed = await db.taskman.list({ applications: ['paging'], updatedAfter: new Date(since.getTime() - 1) });
    assert.ok(changed.some((t) => t.id === ids[0] && t.state === 'aborted'));
  });

  it('rejects bad filters', async () => {
    await assert.rejects(db.taskman.list({ states: ['sleeping' as never] }), /Unknown state "sleeping"/);
    await assert.rejects(db.taskman.list({ limit: 0 }), InvalidInputError);
    await assert.rejects(db.taskman.list({ beforeId: 'abc' }), /"abc" is not a task id/);
  });

  it('reruns an ended task as a new task pointing at it, and refuses to rerun a pending one', async () => {
    const original = await db.taskman.submit({
      application: 'rerun',
      task: 't',
      payload: { x: 1 },
      priority: 3,
      timeout: '5m',
    });
    await assert.rejects(db.taskman.rerun(original.id), TaskNotEndedError);
    await db.taskman.abort(original.id);
    const rerun = await db.taskman.rerun(original.id);
    const task = await db.taskman.get(rerun.id);
    assert.deepEqual(
      [task.rerunOf, task.payload, task.priority, task.timeoutMs, task.state],
      [original.id, { x: 1 }, 3, 300_000, 'pending'],
    );
  });

  it('deletes only ended tasks, and says so', async () => {
    const { id } = await db.taskman.submit({ application: 'del', task: 't' });
    await assert.rejects(db.taskman.delete(id), /is pending; only an ended task can be deleted/);
    await db.taskman.abort(id);
    await db.taskman.delete(id);
    await assert.rejects(db.taskman.get(id), TaskNotFoundError);
    await assert.rejects(db.taskman.delete(id), /does not exist/);
  });

  it('purges ended tasks older than the age given, leaving others', async () => {
    const old = await db.taskman.submit({ application: 'purge', task: 't' });
    const fresh = await db.taskman.submit({ application: 'purge', task: 't' });
    const pending = await db.taskman.submit({ application: 'purge', task: 't' });
    await db.taskman.abort(old.id);
    await db.taskman.abort(fresh.id);
    await db.sql.query(`UPDATE taskman_task SET ended_at = NOW(6) - INTERVAL 8 DAY WHERE id = ?`, [old.id]);
    assert.equal(await db.taskman.purge('7d'), 1);
    await assert.rejects(db.taskman.get(old.id), TaskNotFoundError);
    assert.equal((await db.taskman.get(fresh.id)).state, 'aborted');
    assert.equal((await db.taskman.get(pending.id)).state, 'pending');
    await assert.rejects(db.taskman.purge('a week'), /older-than "a week" is not a duration/);
  });

  it('stores hostile strings exactly: SQL metacharacters, quotes, emoji and long text', async () => {
    const payload = {
      sql: "'; DROP TABLE taskman_task; --",
      quote: '"\\\u0000',
      emoji: '🦄',
      long: 'z'.repeat(100_000),
    };
    const { id } = await db.taskman.submit({ application: 'hostile', task: 't', payload, key: "k'; --" });
    assert.deepEqual((await db.taskman.get(id)).payload, payload);
    assert.equal((await db.taskman.get(id)).key, "k'; --");
  });

  it('rejects bad ids clearly', async () => {
    for (const id of ['0', '-1', 'abc', '1; DROP TABLE x', ''])
      await assert.rejects(db.taskman.get(id), /is not a task id/);
    await assert.rejects(db.taskman.get('999999999'), /Task 999999999 does not exist/);
  });
});
