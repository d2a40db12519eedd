// Migration 6 lets the schema keep updated_at (ON UPDATE) on a database that already holds tasks
// of schema version 5, while processes of the previous version, which still write it (and
// active_key) themselves, keep working: an upgrade runs old and new schedulers side by side.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCHEMA_VERSION, Taskman } from '../../src/core';
import { tableNames } from '../../src/core/database/tableNames';
import { MIGRATIONS } from '../../src/core/database/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('migrating a database of schema version 5', () => {
  let db: TestDatabase;
  let client: Taskman;
  const t = tableNames('v5_');
  let pendingWithKey = '';

  const row = async (id: string) => {
    const [rows] = (await db.sql.query(`SELECT state, active_key, updated_at FROM ${t.task} WHERE id = ?`, [
      id,
    ])) as never as [{ state: string; active_key: string | null; updated_at: Date }[]];
    return rows[0];
  };
  /** The submit of the previous version: it writes active_key and updated_at itself. */
  const submitAsBefore = async (key: string) => {
    const [result] = (await db.sql.query(
      `INSERT INTO ${t.task} (application, task, payload, idempotency_key, active_key, state, priority, version,
         run_after, start_before, timeout_ms, rerun_of, debug_scheduler_id, created_at, updated_at)
       VALUES ('app', 'work', '{}', ?, ?, 'pending', 0, NULL, NOW(6), NULL, NULL, NULL, NULL, NOW(6), NOW(6))`,
      [key, key],
    )) as never as [{ insertId: number }];
    return String(result.insertId);
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
    pendingWithKey = await submitAsBefore('k1');
    client = await Taskman.connect({ url: db.url, tablePrefix: 'v5_' });
  });
  after(async () => {
    await client?.close();
    await db.drop();
  });

  it('reaches the newest version and keeps the tasks and their keys', async () => {
    const [versions] = (await db.sql.query(`SELECT MAX(version) AS v FROM ${t.migration}`)) as never as [
      { v: number }[],
    ];
    assert.equal(versions[0].v, SCHEMA_VERSION);
    assert.equal((await row(pendingWithKey)).active_key, 'k1');
    assert.deepEqual(await client.submit({ application: 'app', task: 'work', key: 'k1' }), {
      id: pendingWithKey,
      created: false,
    });
  });

  it('ending a task moves updated_at by the schema alone, and frees its key', async () => {
    const before = await row(pendingWithKey);
    assert.equal((await client.abort(pendingWithKey)).outcome, 'aborted');
    const after = await row(pendingWithKey);
    assert.equal(after.state, 'aborted');
    assert.equal(after.active_key, null);
    assert.ok(
      after.updated_at > before.updated_at,
      `${after.updated_at.toISOString()} > ${before.updated_at.toISOString()}`,
    );
    assert.equal((await client.submit({ application: 'app', task: 'work', key: 'k1' })).created, true);
  });

  it("the previous version's statements still work: they write active_key and updated_at themselves", async () => {
    const id = await submitAsBefore('k2');
    assert.deepEqual(await client.submit({ application: 'app', task: 'work', key: 'k2' }), { id, created: false });
    await db.sql.query(
      `UPDATE ${t.task} SET state = 'expired', error = '{}', active_key = NULL, ended_at = NOW(6), updated_at = NOW(6) WHERE id = ?`,
      [id],
    );
    assert.equal((await client.get(id)).state, 'expired');
    assert.equal((await client.submit({ application: 'app', task: 'work', key: 'k2' })).created, true);
  });
});
