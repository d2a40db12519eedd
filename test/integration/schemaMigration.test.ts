// Migration 6 moves the derived columns into the schema (active_key generated from the state,
// updated_at kept by ON UPDATE) on a database that already holds tasks of schema version 5.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCHEMA_VERSION, Taskman } from '../../src/core';
import { tableNames } from '../../src/core/database/connection';
import { MIGRATIONS } from '../../src/core/database/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('migrating a database of schema version 5', () => {
  let db: TestDatabase;
  let client: Taskman;
  const t = tableNames('v5_');
  const ids: Record<string, string> = {};

  const row = async (id: string) => {
    const [rows] = (await db.sql.query(`SELECT state, active_key, updated_at FROM ${t.task} WHERE id = ?`, [
      id,
    ])) as never as [{ state: string; active_key: string | null; updated_at: Date }[]];
    return rows[0];
  };

  before(async () => {
    db = await createTestDatabase();
    await db.sql.query(
      `CREATE TABLE ${t.migration} (version INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at DATETIME(6) NOT NULL)`,
    );
    for (const migration of MIGRATIONS.filter((m) => m.version <= 5)) {
      for (const statement of migration.statements(t)) await db.sql.query(statement);
      await db.sql.query(`INSERT INTO ${t.migration} VALUES (?, ?, NOW(6))`, [migration.version, migration.name]);
    }
    // What version 5's statements wrote: active_key set by hand, NULL once ended.
    const insert = `INSERT INTO ${t.task} (application, task, payload, idempotency_key, active_key, state, run_after, created_at, updated_at, ended_at)
                    VALUES ('app', 'work', '{}', ?, ?, ?, NOW(6), NOW(6), '2026-01-01 00:00:00', ?)`;
    const cases: [string, string | null, string | null, string, Date | null][] = [
      ['pendingWithKey', 'k1', 'k1', 'pending', null],
      ['endedWithKey', 'k2', null, 'succeeded', new Date()],
      ['pendingWithoutKey', null, null, 'pending', null],
    ];
    for (const [name, key, active, state, ended] of cases) {
      const [result] = (await db.sql.query(insert, [key, active, state, ended])) as never as [{ insertId: number }];
      ids[name] = String(result.insertId);
    }
    client = await Taskman.connect({ url: db.url, tablePrefix: 'v5_' });
  });
  after(async () => {
    await client?.close();
    await db.drop();
  });

  it('reaches the newest version, keeping every task and the key of each task not ended', async () => {
    const [versions] = (await db.sql.query(`SELECT MAX(version) AS v FROM ${t.migration}`)) as never as [
      { v: number }[],
    ];
    assert.equal(versions[0].v, SCHEMA_VERSION);
    assert.equal((await row(ids.pendingWithKey)).active_key, 'k1');
    assert.equal((await row(ids.endedWithKey)).active_key, null);
    assert.equal((await row(ids.pendingWithoutKey)).active_key, null);
  });

  it('a key still in use returns its task; a key whose task ended is free again', async () => {
    assert.deepEqual(await client.submit({ application: 'app', task: 'work', key: 'k1' }), {
      id: ids.pendingWithKey,
      created: false,
    });
    const again = await client.submit({ application: 'app', task: 'work', key: 'k2' });
    assert.equal(again.created, true);
    assert.notEqual(again.id, ids.endedWithKey);
  });

  it('ending a task frees its key and moves updated_at, by the schema alone', async () => {
    const before = await row(ids.pendingWithKey);
    assert.equal((await client.abort(ids.pendingWithKey)).outcome, 'aborted');
    const after = await row(ids.pendingWithKey);
    assert.equal(after.state, 'aborted');
    assert.equal(after.active_key, null);
    assert.ok(
      after.updated_at > before.updated_at,
      `${after.updated_at.toISOString()} > ${before.updated_at.toISOString()}`,
    );
    assert.equal((await client.submit({ application: 'app', task: 'work', key: 'k1' })).created, true);
  });
});
