import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** What the Tasks view's search, group counts, bulk actions and lineage rest on. */
describe('searching, counting, purging by state and rerunning with a new payload', () => {
  let db: TestDatabase;
  const app = 'search-app';
  const ids: Record<string, string> = {};

  before(async () => {
    db = await createTestDatabase();
    ids.plain = (
      await db.taskman.submit({ application: app, task: 'importCustomers', payload: { file: 'north.csv' } })
    ).id;
    ids.percent = (
      await db.taskman.submit({ application: app, task: 'report', payload: { note: '100% done_now' } })
    ).id;
    ids.quote = (
      await db.taskman.submit({ application: app, task: 'report', payload: { note: "it's O'Brien; DROP TABLE x; --" } })
    ).id;
    ids.other = (
      await db.taskman.submit({ application: 'search-other', task: 'importCustomers', payload: { file: 'SOUTH.csv' } })
    ).id;
    await db.taskman.abort(ids.percent, 'stopped by the test');
  });
  after(() => db.drop());

  const found = async (search: string, applications = [app, 'search-other']) =>
    (await db.taskman.list({ search, applications, limit: 100 })).map((task) => task.id).sort();

  it('finds by id (with or without #), by task name and by text in the payload or error, case-insensitively', async () => {
    assert.deepEqual(await found(ids.quote), [ids.quote]);
    assert.deepEqual(await found(`#${ids.quote}`), [ids.quote]);
    assert.deepEqual(await found('importcustomers'), [ids.plain, ids.other].sort());
    assert.deepEqual(await found('south.CSV'), [ids.other]);
    assert.deepEqual(await found('aborted before it started'), [ids.percent], 'in the error');
    assert.deepEqual(await found('no such text'), []);
  });

  it('takes SQL and LIKE metacharacters literally', async () => {
    assert.deepEqual(await found('100%'), [ids.percent]);
    assert.deepEqual(await found('%'), [ids.percent], '% matches only a percent sign');
    assert.deepEqual(await found('done_now'), [ids.percent]);
    assert.deepEqual(await found('e_n'), [ids.percent], '_ is not a wildcard: it matches only done_now');
    assert.deepEqual(await found("O'Brien; DROP TABLE x; --"), [ids.quote]);
    assert.deepEqual(await found('!'), []);
    assert.deepEqual(await found('\\'), []);
    assert.equal((await db.taskman.list({ applications: [app], limit: 100 })).length, 3, 'the table is intact');
    await assert.rejects(db.taskman.list({ search: 'x'.repeat(201) }), InvalidInputError);
  });

  it('counts matching tasks per state, task or application in one grouped query', async () => {
    const filter = { applications: [app, 'search-other'] };
    assert.deepEqual(Object.fromEntries(await db.taskman.count(filter, 'state')), { pending: 3, aborted: 1 });
    assert.deepEqual(Object.fromEntries(await db.taskman.count(filter, 'task')), { importCustomers: 2, report: 2 });
    assert.deepEqual(Object.fromEntries(await db.taskman.count(filter, 'application')), {
      [app]: 3,
      'search-other': 1,
    });
    assert.deepEqual(Object.fromEntries(await db.taskman.count({ ...filter, search: 'csv' }, 'state')), { pending: 2 });
    assert.deepEqual((await db.taskman.countByState({ applications: [app] })).aborted, 1);
  });

  it('reruns with a new payload, and finds the reruns of a task', async () => {
    const first = await db.taskman.rerun(ids.percent);
    const second = await db.taskman.rerun(ids.percent, { payload: { note: 'edited' } });
    assert.deepEqual((await db.taskman.get(first.id)).payload, { note: '100% done_now' });
    assert.deepEqual((await db.taskman.get(second.id)).payload, { note: 'edited' });
    assert.deepEqual(
      (await db.taskman.list({ rerunOf: ids.percent })).map((task) => task.id),
      [second.id, first.id],
    );
    for (const { id } of [first, second]) await db.taskman.abort(id);
  });

  it('purges by state and age, and says first how many it will delete', async () => {
    const purgeApp = 'search-purge';
    const failedLike = await db.taskman.submit({ application: purgeApp, task: 't' });
    const kept = await db.taskman.submit({ application: purgeApp, task: 't' });
    await db.taskman.abort(failedLike.id);
    await db.taskman.abort(kept.id);
    await db.sql.query(`UPDATE taskman_task SET state = 'failed' WHERE id = ?`, [failedLike.id]);
    const { count, endedBefore } = await db.taskman.countPurgeable('0s', ['failed']);
    assert.ok(count >= 1);
    // One that ends after the count is not purged by it.
    const later = await db.taskman.submit({ application: purgeApp, task: 't' });
    await db.taskman.abort(later.id);
    await db.sql.query(`UPDATE taskman_task SET state = 'failed' WHERE id = ?`, [later.id]);
    assert.equal(await db.taskman.purge(endedBefore, ['failed']), count);
    assert.equal((await db.taskman.get(later.id)).state, 'failed');
    assert.equal((await db.taskman.countPurgeable('0s', ['failed'])).count, 1);
    assert.equal((await db.taskman.get(kept.id)).state, 'aborted', 'an aborted task is not purged with failed ones');
    await assert.rejects(db.taskman.purge('0s', ['pending']), /Only ended tasks can be purged: "pending"/);
    await assert.rejects(db.taskman.countPurgeable('0s', ['nope' as 'failed']), InvalidInputError);
  });
});
