import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../src/core';
import { FaultProxy, freePort } from '../helpers/faultProxy';
import { rejection, waitFor } from '../helpers/wait';

const CONNECTION_CUT = ['ECONNRESET', 'PROTOCOL_CONNECTION_LOST'];

// The proxy needs TCP, which the shared test server (unix socket only) does not listen on: a private server.
describe('the fault-injecting proxy between mysql2 and MariaDB', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-proxy-'));
  let proxy: FaultProxy;
  let direct: mysql.Connection;
  const open: mysql.Connection[] = [];
  const viaProxy = async (options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> => {
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: proxy.port,
      user: 'taskman',
      password: 'pw',
      database: 'taskman',
      ...options,
    });
    connection.on('error', () => {}); // a cut connection also emits 'error' once idle
    open.push(connection);
    return connection;
  };
  const storedValue = async (id: number): Promise<number> => {
    const [rows] = await direct.query<mysql.RowDataPacket[]>('SELECT v FROM t WHERE id = ?', [id]);
    return rows[0].v;
  };

  before(async () => {
    const port = await freePort();
    const server = await ensureEmbeddedServer({
      dataDir,
      serverArgs: [
        '--skip-networking=0',
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        '--innodb-flush-log-at-trx-commit=2',
      ],
    });
    direct = await mysql.createConnection({ socketPath: server.target.socketPath, user: 'root', database: 'taskman' });
    await direct.query("CREATE USER 'taskman'@'127.0.0.1' IDENTIFIED BY 'pw'");
    await direct.query("GRANT ALL ON *.* TO 'taskman'@'127.0.0.1'");
    await direct.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB');
    await direct.query('INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)');
    proxy = await FaultProxy.start({ host: '127.0.0.1', port });
  });
  after(async () => {
    for (const connection of open) connection.destroy();
    await proxy?.close();
    await direct?.end();
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes queries and prepared statements through', async () => {
    const connection = await viaProxy();
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT 1 + 1 AS two');
    assert.equal(rows[0].two, 2);
    for (const n of [1, 2]) {
      // The second execute() reuses the cached statement: only a COM_STMT_EXECUTE by id goes out.
      const [executed] = await connection.execute<mysql.RowDataPacket[]>('SELECT ? AS n, ? AS s', [n, 'x']);
      assert.deepEqual({ ...executed[0] }, { n, s: 'x' });
    }
    assert.equal(
      proxy.url('mysql://root@localhost/taskman?socket=/tmp/x.sock'),
      `mysql://root@127.0.0.1:${proxy.port}/taskman`,
    );
    await connection.end();
  });

  it('lose-reply on an execute()d UPDATE: the client errors, the row was updated', async () => {
    const connection = await viaProxy();
    await connection.execute('UPDATE t SET v = ? WHERE id = ?', [0, 1]); // prepared and cached before the fault
    proxy.addFault({ kind: 'lose-reply', match: /^UPDATE t SET v/ });
    const error = await rejection(connection.execute('UPDATE t SET v = ? WHERE id = ?', [42, 1]));
    assert.ok(CONNECTION_CUT.includes(error.code!), `${error.code}: ${error.message}`);
    assert.equal(await storedValue(1), 42);
    assert.deepEqual(proxy.stats.firedLog.at(-1), {
      fault: 'lose-reply /^UPDATE t SET v/',
      sql: 'UPDATE t SET v = ? WHERE id = ?',
    });
  });

  it('lose-reply on COMMIT: the client errors, the transaction was committed', async () => {
    const connection = await viaProxy();
    await connection.beginTransaction();
    await connection.query('UPDATE t SET v = 7 WHERE id = 2');
    proxy.addFault({ kind: 'lose-reply', match: /^COMMIT$/i });
    const error = await rejection(connection.commit());
    assert.ok(CONNECTION_CUT.includes(error.code!), `${error.code}: ${error.message}`);
    assert.equal(await storedValue(2), 7);
  });

  it('a fault with `after` fires only on the COMMIT of a transaction whose last statement matched', async () => {
    const connection = await viaProxy();
    proxy.addFault({ kind: 'lose-reply', match: /^COMMIT$/i, after: /^UPDATE t SET v = 9/ });
    await connection.beginTransaction();
    await connection.query('UPDATE t SET v = 8 WHERE id = 3');
    await connection.commit();
    assert.equal(await storedValue(3), 8, 'another transaction commits untouched');
    await connection.beginTransaction();
    await connection.query('UPDATE t SET v = 9 WHERE id = 3');
    const error = await rejection(connection.commit());
    assert.ok(CONNECTION_CUT.includes(error.code!), `${error.code}: ${error.message}`);
    assert.equal(await storedValue(3), 9);
  });

  it('reset: the client errors, the server never got the statement', async () => {
    const connection = await viaProxy();
    proxy.addFault({ kind: 'reset', match: /^UPDATE t SET v = 99/ });
    const error = await rejection(connection.query('UPDATE t SET v = 99 WHERE id = 1'));
    assert.ok(CONNECTION_CUT.includes(error.code!), `${error.code}: ${error.message}`);
    assert.equal(await storedValue(1), 42);
  });

  it('partition-after-reply on SELECT ... FOR UPDATE: the client hangs, the server keeps the lock', async () => {
    const connection = await viaProxy();
    await connection.beginTransaction();
    proxy.addFault({ kind: 'partition-after-reply', match: /FOR UPDATE/ });
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT v FROM t WHERE id = 3 FOR UPDATE');
    assert.equal(rows.length, 1);
    const error = await rejection(connection.query({ sql: 'SELECT 1', timeout: 1000 }));
    assert.equal(error.code, 'PROTOCOL_SEQUENCE_TIMEOUT');
    // The client gives up and closes its socket, but its FIN never crosses the partition: the lock stays held.
    connection.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await direct.beginTransaction();
    const locked = await rejection(direct.query('SELECT v FROM t WHERE id = 3 FOR UPDATE NOWAIT'));
    assert.ok(['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_NOWAIT'].includes(locked.code!), `${locked.code}: ${locked.message}`); // MariaDB, MySQL
    await direct.rollback();
    proxy.heal(); // cuts the frozen connection: the server rolls back and frees the row
    await waitFor(
      'the row lock to be released',
      async () => {
        await direct.query('SELECT v FROM t WHERE id = 3 FOR UPDATE NOWAIT');
        return true;
      },
      { timeoutMs: 5000 },
    );
  });

  it('partition() makes new connections hang; heal() lets them through again', async () => {
    proxy.partition();
    const error = await rejection(viaProxy({ connectTimeout: 500 }));
    assert.equal(error.code, 'ETIMEDOUT');
    proxy.heal();
    const connection = await viaProxy({ connectTimeout: 2000 });
    await connection.query('SELECT 1');
    await connection.end();
  });

  it('resetAll(true) cuts connections at once, old and new', async () => {
    const old = await viaProxy();
    const cut = new Promise<{ code?: string }>((resolve) => old.once('error', resolve));
    proxy.resetAll(true);
    assert.equal((await cut).code, 'ECONNRESET'); // an idle connection hears of it as an 'error' event
    const began = performance.now();
    const error = await rejection(viaProxy({ connectTimeout: 5000 }));
    assert.ok(CONNECTION_CUT.includes(error.code!), `${error.code}: ${error.message}`);
    assert.ok(performance.now() - began < 1000);
    proxy.resetAll(false);
    await (await viaProxy()).end();
  });

  it('setLatency(50) makes a round trip take at least 100 ms', async () => {
    const connection = await viaProxy();
    proxy.setLatency(50);
    try {
      for (let i = 0; i < 5; i++) {
        const began = performance.now();
        await connection.query('SELECT 1');
        const ms = performance.now() - began;
        assert.ok(ms >= 100, `round trip ${ms} ms`); // the proxy never delivers a chunk early
      }
    } finally {
      proxy.setLatency(0);
    }
    await connection.end();
  });
});
