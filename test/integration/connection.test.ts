import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { formatDatabaseUrl, parseDatabaseUrl, SCHEMA_VERSION, Taskman } from '../../src/core';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('connecting and migrating', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('several processes migrating one fresh database at once end with one schema', async () => {
    const fresh = `${db.name}_m`;
    await db.sql.query(`CREATE DATABASE \`${fresh}\``);
    const url = formatDatabaseUrl({ ...parseDatabaseUrl(db.url), database: fresh }, { withPassword: true });
    const clients = await Promise.all(Array.from({ length: 6 }, () => Taskman.connect({ url })));
    try {
      const [rows] = (await db.sql.query(`SELECT version FROM \`${fresh}\`.taskman_migration`)) as never as [
        { version: number }[],
      ];
      assert.deepEqual(
        rows.map((r) => r.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
        'each version applied exactly once',
      );
      const { id } = await clients[3].submit({ application: 'a', task: 't' });
      assert.equal((await clients[5].get(id)).state, 'pending');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await db.sql.query(`DROP DATABASE \`${fresh}\``);
    }
  });

  it("keeps its tables under another prefix beside an application's own", async () => {
    const client = await Taskman.connect({ url: db.url, tablePrefix: 'jobs_' });
    try {
      const { id } = await client.submit({ application: 'a', task: 't' });
      const [rows] = (await db.sql.query('SELECT id FROM jobs_task')) as never as [{ id: string }[]];
      assert.deepEqual(
        rows.map((r) => String(r.id)),
        [id],
      );
    } finally {
      await client.close();
    }
    await assert.rejects(
      Taskman.connect({ url: db.url, tablePrefix: 'bad-prefix;' }),
      /table prefix "bad-prefix;" must be/,
    );
  });

  it('refuses a schema newer than it knows', async () => {
    await db.sql.query('INSERT INTO taskman_migration (version, name, applied_at) VALUES (999, ?, NOW(6))', [
      'from the future',
    ]);
    try {
      await assert.rejects(
        Taskman.connect({ url: db.url }),
        (error: Error & { code?: string }) =>
          error.code === 'SCHEMA_TOO_NEW' && /version 999 .* Upgrade Taskman/.test(error.message),
      );
    } finally {
      await db.sql.query('DELETE FROM taskman_migration WHERE version = 999');
    }
  });

  it('a wrong password: a clear error naming host, port and user, never the password', async () => {
    const user = `tm_${db.name.slice(-8)}`;
    await db.sql.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY 'right-password'`);
    try {
      const base = parseDatabaseUrl(db.url);
      const url = formatDatabaseUrl({ ...base, user, password: 'wrong-password' }, { withPassword: true });
      await assert.rejects(Taskman.connect({ url }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DATABASE_ACCESS_DENIED');
        assert.match(error.message, new RegExp(`refused the login.*user "${user}"|user "${user}".*refused the login`));
        assert.match(error.message, /Check the user and password/);
        assert.ok(
          !error.message.includes('wrong-password') && !error.message.includes('right-password'),
          error.message,
        );
        return true;
      });
    } finally {
      await db.sql.query(`DROP USER '${user}'@'localhost'`);
    }
  });

  it('a server that refuses connections: retries with backoff, then a clear error naming host and port', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const retries: number[] = [];
    await assert.rejects(
      Taskman.connect({
        url: `mysql://app:pw@127.0.0.1:${port}/jobs`,
        connectRetries: 2,
        logger: { debug() {}, info() {}, error() {}, warn: (m) => retries.push(m.length) },
      }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DATABASE_UNAVAILABLE');
        assert.match(
          error.message,
          new RegExp(
            `Cannot reach MySQL at 127\\.0\\.0\\.1:${port} as user "app".*ECONNREFUSED.*Is the server running\\?`,
          ),
        );
        assert.ok(!error.message.includes('pw@'));
        return true;
      },
    );
    assert.equal(retries.length, 2, 'two retries were logged');
  });

  it('a missing database: says to create it', async () => {
    const url = formatDatabaseUrl({ ...parseDatabaseUrl(db.url), database: 'no_such_db_here' }, { withPassword: true });
    await assert.rejects(Taskman.connect({ url, connectRetries: 0 }), /the database does not exist\. Create it/);
  });
});
