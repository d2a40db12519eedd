// Many tasks in one all-or-none batch (Taskman.submitMany): one INSERT per 1,000 rows, the ids in
// the order given, keys honoured per row as one submit honours them, a bad submission named.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROWS_PER_STATEMENT, type SubmitTaskInput, Taskman } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('batch submit', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  const count = async () =>
    Number(((await db.sql.query('SELECT COUNT(*) AS n FROM taskman_task')) as never as [[{ n: number }]])[0][0].n);
  const inserts = async () => {
    const [rows] = (await db.sql.query("SHOW GLOBAL STATUS LIKE 'Com_insert'")) as never as [{ Value: string }[]];
    return Number(rows[0].Value);
  };
  const batch = (n: number, make: (i: number) => Partial<SubmitTaskInput> = () => ({})): SubmitTaskInput[] =>
    Array.from({ length: n }, (_, i) => ({ application: 'batch', task: 'work', payload: { n: i }, ...make(i) }));

  it('10,000 tasks go in with one INSERT per 1,000 rows, their ids in the order given', async () => {
    const before = await inserts();
    const results = await db.taskman.submitMany(batch(10_000));
    assert.equal(await inserts(), before + 10_000 / ROWS_PER_STATEMENT);
    assert.equal(results.length, 10_000);
    assert.ok(results.every((r) => r.created));
    const [rows] = (await db.sql.query(
      "SELECT id, payload, state FROM taskman_task WHERE application = 'batch' ORDER BY id",
    )) as never as [{ id: string; payload: string; state: string }[]];
    const payloadOf = new Map(rows.map((row) => [String(row.id), JSON.parse(row.payload).n]));
    for (const [i, result] of results.entries()) {
      assert.equal(payloadOf.get(result.id), i, `the id printed for line ${i + 1}`);
    }
    assert.ok(rows.every((row) => row.state === 'pending'));
  });

  it('a key of a task not ended returns it; a key given twice makes one task, also across statements', async () => {
    const { id: existing } = await db.taskman.submit({ application: 'keys', task: 'work', key: 'old' });
    const inputs = batch(1_500, (i) => ({
      application: 'keys',
      key: i === 0 || i === 1_200 ? 'twice' : i === 3 ? 'old' : i === 4 || i === 5 ? 'pair' : undefined,
    }));
    const results = await db.taskman.submitMany(inputs);
    assert.deepEqual(results[3], { id: existing, created: false });
    assert.equal(results[1_200].id, results[0].id);
    assert.deepEqual([results[0].created, results[1_200].created], [true, false]);
    assert.equal(results[5].id, results[4].id);
    assert.deepEqual([results[4].created, results[5].created], [true, false]);
    const [rows] = (await db.sql.query(
      "SELECT COUNT(*) AS n FROM taskman_task WHERE application = 'keys'",
    )) as never as [[{ n: number }]];
    assert.equal(Number(rows[0].n), 1 + 1_500 - 3, 'one task per key, the existing one untouched');
  });

  it('an invalid submission is named by its position and nothing of the batch is submitted', async () => {
    const before = await count();
    await assert.rejects(
      db.taskman.submitMany(batch(7_500, (i) => (i === 6_999 ? { priority: 1.5 } : {}))),
      (error: Error & { code?: string }) =>
        error.code === 'INVALID_INPUT' && /^Submission 7000 of 7500: .*priority/i.test(error.message),
    );
    await assert.rejects(
      db.taskman.submitMany(batch(3, (i) => (i === 2 ? { task: 'no-such name' } : {}))),
      /Submission 3 of 3/,
    );
    assert.equal(await count(), before);
  });

  it('a batch the database refuses part-way leaves nothing behind', async () => {
    const before = await count();
    // A time past DATETIME's year 9999 passes validation but the server refuses it, in the
    // batch's second INSERT: the first one's 1,000 rows must go with it.
    const inputs = batch(1_200, (i) => (i === 1_100 ? { runAfter: new Date('+010000-01-01T00:00:00Z') } : {}));
    await assert.rejects(db.taskman.submitMany(inputs), { code: 'DATABASE_ERROR' });
    assert.equal(await count(), before);
  });

  it('payloads with quotes and backslashes arrive as given, also where the server asks for NO_BACKSLASH_ESCAPES', async () => {
    const tricky = { s: 'it\'s \\ "q" \'); DELETE FROM taskman_task; --', t: "\\'" };
    const [[mode]] = (await db.sql.query('SELECT @@GLOBAL.sql_mode AS m')) as never as [[{ m: string }]];
    await db.sql.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    const fresh = await Taskman.connect({ url: db.url });
    try {
      const [result] = await fresh.submitMany(
        batch(1, () => ({ application: 'quotes', payload: tricky, key: "k'\\" })),
      );
      const task = await fresh.get(result.id);
      assert.deepEqual(task.payload, tricky);
      assert.equal(task.key, "k'\\");
    } finally {
      await fresh.close();
      await db.sql.query('SET GLOBAL sql_mode = ?', [mode.m]);
    }
  });

  it('a key differing only by trailing spaces is the same key, as the unique key has it', async () => {
    const results = await db.taskman.submitMany(batch(2, (i) => ({ application: 'spaces', key: i ? 'k ' : 'k' })));
    assert.equal(results[1].id, results[0].id);
    assert.deepEqual(
      results.map((r) => r.created),
      [true, false],
    );
  });

  it('an empty batch submits nothing; one over the limit is refused before any write', async () => {
    assert.deepEqual(await db.taskman.submitMany([]), []);
    await assert.rejects(db.taskman.submitMany(batch(100_001)), /at most 100000 tasks .* split it/);
  });
});
