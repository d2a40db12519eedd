// The Galera harness itself (test/helpers/galeraCluster.ts): three nodes replicate, conflicting
// writes on two nodes make the second fail certification, GET_LOCK's behaviour on a node, and a
// killed node leaves two that still take writes, then one that has lost quorum.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'mysql2/promise';
import { GaleraCluster, galeraAvailable } from '../helpers/galeraCluster';

const available = galeraAvailable();

/** The fields of a mysql2 error a caller can tell errors apart by. */
function sqlError(error: unknown): { code?: string; errno?: number; sqlState?: string; sqlMessage?: string } {
  const { code, errno, sqlState, sqlMessage } = error as Record<string, never>;
  return { code, errno, sqlState, sqlMessage };
}

async function rejection(promise: Promise<unknown>): Promise<ReturnType<typeof sqlError>> {
  try {
    await promise;
  } catch (error) {
    return sqlError(error);
  }
  assert.fail('expected the statement to fail');
}

describe('a private 3-node Galera cluster', { skip: available.ok ? false : available.why }, () => {
  let cluster: GaleraCluster;
  let startMs = 0;
  const connections: Connection[] = [];
  /** A TCP connection as the cluster's user; reads wait until the node has applied every earlier commit. */
  const connect = async (index: number): Promise<Connection> => {
    const connection = await cluster.connect(index);
    connection.on('error', () => {}); // the connection to a killed node errors with no query running
    connections.push(connection);
    // Galera applies other nodes' commits asynchronously; wsrep_sync_wait makes each statement
    // wait for them (1 reads, 2 updates and deletes, 4 inserts and replaces, 8 SHOW).
    await connection.query('SET SESSION wsrep_sync_wait = 15');
    return connection;
  };

  before(async () => {
    const began = Date.now();
    cluster = await GaleraCluster.start();
    startMs = Date.now() - began;
  });
  after(async () => {
    for (const connection of connections) connection.destroy();
    const began = Date.now();
    await cluster?.stop();
    console.log(`Galera cluster stopped in ${Date.now() - began} ms`);
  });

  it('replicates: a table made on node 0, a row inserted on node 1, read on node 2', async (t) => {
    t.diagnostic(`cluster of 3 started in ${startMs} ms (ports ${cluster.nodes.map((n) => n.port).join(', ')})`);
    for (const node of cluster.nodes) assert.equal(await cluster.clusterSize(node.index), 3);
    const [n0, n1, n2] = [await connect(0), await connect(1), await connect(2)];
    await n0.query('CREATE TABLE job (id INT PRIMARY KEY, state VARCHAR(20) NOT NULL, n INT NOT NULL DEFAULT 0)');
    await n1.query("INSERT INTO job (id, state) VALUES (1, 'pending')");
    const [rows] = await n2.query('SELECT id, state, n FROM job');
    assert.deepEqual(rows, [{ id: 1, state: 'pending', n: 0 }]);
  });

  it('fails the second of two conflicting transactions on different nodes (certification conflict)', async (t) => {
    const [a, b] = [await connect(0), await connect(1)];
    const bfAbortsBefore = Number((await cluster.status(1)).wsrep_local_bf_aborts);
    await a.query('BEGIN');
    await b.query('BEGIN');
    // Row locks are per node: B's FOR UPDATE on node 1 does not wait for A's on node 0.
    await a.query('SELECT n FROM job WHERE id = 1 FOR UPDATE');
    await b.query('SELECT n FROM job WHERE id = 1 FOR UPDATE');
    await a.query('UPDATE job SET n = n + 1 WHERE id = 1');
    await b.query('UPDATE job SET n = n + 10 WHERE id = 1');
    await a.query('COMMIT');
    const error = await rejection(b.query('COMMIT'));
    // Observed (MariaDB 10.11.19, Galera 4.23): code ER_LOCK_DEADLOCK, errno 1213, sqlState 40001,
    // "Deadlock found when trying to get lock; try restarting transaction": A's write set, applied
    // on node 1, brute-force aborted B (wsrep_local_bf_aborts on node 1 goes up by one).
    t.diagnostic(`second commit: ${JSON.stringify(error)}`);
    assert.deepEqual(error, {
      code: 'ER_LOCK_DEADLOCK',
      errno: 1213,
      sqlState: '40001',
      sqlMessage: 'Deadlock found when trying to get lock; try restarting transaction',
    });
    t.diagnostic(
      `node 1 wsrep_local_bf_aborts +${Number((await cluster.status(1)).wsrep_local_bf_aborts) - bfAbortsBefore}`,
    );
    for (const connection of [a, b])
      assert.deepEqual(
        (await connection.query('SELECT n FROM job WHERE id = 1'))[0],
        [{ n: 1 }],
        'only the first commit counts',
      );
  });

  it('GET_LOCK works on a Galera node but only on that node', async (t) => {
    const [a, b] = [await connect(0), await connect(1)];
    // Observed on MariaDB 10.11.19: no error, GET_LOCK returns 1. (Older MariaDB refused it with
    // errno 1235 ER_NOT_SUPPORTED_YET "This version of MariaDB doesn't yet support 'GET_LOCK in
    // cluster (WSREP_ON=ON)'", lifted by MDEV-31325.) The lock is not replicated: node 1 grants
    // the same name at once while node 0 holds it, so it cannot exclude clients of other nodes.
    assert.deepEqual((await a.query("SELECT GET_LOCK('x', 1) AS got"))[0], [{ got: 1 }]);
    assert.deepEqual(
      (await b.query("SELECT GET_LOCK('x', 0) AS got"))[0],
      [{ got: 1 }],
      "node 1 does not see node 0's lock",
    );
    const [[{ free }]] = (await a.query("SELECT IS_FREE_LOCK('x') AS free")) as never as [[{ free: number }]];
    t.diagnostic(`GET_LOCK('x') on node 0: 1; on node 1 while node 0 holds it: 1; IS_FREE_LOCK on node 0: ${free}`);
    await a.query("SELECT RELEASE_LOCK('x')");
    await b.query("SELECT RELEASE_LOCK('x')");
  });

  it('keeps taking writes on two nodes when the third is killed, and refuses them on one alone', async (t) => {
    const [n0, n1] = [await connect(0), await connect(1)];
    let began = Date.now();
    await cluster.kill(2);
    t.diagnostic(`node 2 SIGKILLed; nodes 0 and 1 at cluster size 2, Primary, in ${Date.now() - began} ms`);
    assert.equal(cluster.nodes[2].pid(), undefined);
    assert.deepEqual([await cluster.clusterSize(0), await cluster.clusterSize(1)], [2, 2]);
    await n0.query("INSERT INTO job (id, state) VALUES (2, 'pending')");
    await n1.query("INSERT INTO job (id, state) VALUES (3, 'pending')");
    assert.deepEqual((await n1.query('SELECT id FROM job ORDER BY id'))[0], [{ id: 1 }, { id: 2 }, { id: 3 }]);
    assert.deepEqual((await n0.query('SELECT id FROM job ORDER BY id'))[0], [{ id: 1 }, { id: 2 }, { id: 3 }]);

    // Node 0 alone is 1 of the last primary component's 2: no quorum, non-Primary, wsrep_ready OFF.
    began = Date.now();
    await cluster.kill(1);
    t.diagnostic(`node 1 SIGKILLed; node 0 non-Primary in ${Date.now() - began} ms`);
    const status = await cluster.status(0);
    assert.deepEqual(
      [status.wsrep_cluster_status, status.wsrep_ready, status.wsrep_cluster_size],
      ['non-Primary', 'OFF', '1'],
    );
    // Observed: with wsrep_sync_wait set, every statement, even SELECT 1, waits for a sync that
    // cannot come and fails at once with ER_LOCK_WAIT_TIMEOUT, errno 1205, sqlState HY000, "Lock
    // wait timeout exceeded; try restarting transaction".
    began = Date.now();
    const syncWait = await rejection(n0.query('SELECT 1 AS one'));
    t.diagnostic(
      `SELECT 1 with wsrep_sync_wait on a node without quorum, after ${Date.now() - began} ms: ${JSON.stringify(syncWait)}`,
    );
    assert.deepEqual(syncWait, {
      code: 'ER_LOCK_WAIT_TIMEOUT',
      errno: 1205,
      sqlState: 'HY000',
      sqlMessage: 'Lock wait timeout exceeded; try restarting transaction',
    });
    // Without it, connecting and SELECT 1 still work, but every statement on a table fails with
    // ER_UNKNOWN_COM_ERROR, errno 1047, sqlState 08S01, "WSREP has not yet prepared node for
    // application use" (the same error a joiner gives before it is Synced).
    await n0.query('SET SESSION wsrep_sync_wait = 0');
    assert.deepEqual((await n0.query('SELECT 1 AS one'))[0], [{ one: 1 }]);
    const expected = {
      code: 'ER_UNKNOWN_COM_ERROR',
      errno: 1047,
      sqlState: '08S01',
      sqlMessage: 'WSREP has not yet prepared node for application use',
    };
    const read = await rejection(n0.query('SELECT id FROM job'));
    t.diagnostic(`read on a node without quorum: ${JSON.stringify(read)}`);
    assert.deepEqual(read, expected);
    assert.deepEqual(await rejection(n0.query("INSERT INTO job (id, state) VALUES (4, 'pending')")), expected);
  });
});
