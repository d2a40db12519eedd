// A private MariaDB Galera cluster on this machine, for tests of Taskman against a multi-primary
// server: every node is an embedded server (ensureEmbeddedServer, the code users get) given wsrep
// options through serverArgs, listening on 127.0.0.1 only, on ports no system server uses.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, formatDatabaseUrl, stopEmbeddedServer } from '../../src/core';
import { serverPaths } from '../../src/core/embedded/dataDir';
import { findServerBinary } from '../../src/core/embedded/serverBinary';
import { isProcessAlive } from '../../src/core/processes';

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const USER = 'taskman';
const DATABASE = 'taskman';

export interface GaleraNode {
  index: number;
  /** The SQL port, on 127.0.0.1. */
  port: number;
  /** TCP URL with user and password, database 'taskman'. */
  url: string;
  /** Unix-socket URL as root (no password), database 'taskman': reaches the node behind a proxy's back. */
  socketUrl: string;
  /** The folder given to ensureEmbeddedServer (the server's data is in its mysql/data). */
  dataDir: string;
  /** The server's error log, where Galera says what it does. */
  logFile: string;
  /** The mariadbd process id while it runs. */
  pid(): number | undefined;
}

/** A node's wsrep status variables, lower case: wsrep_cluster_size, wsrep_ready, wsrep_cluster_status... */
export type WsrepStatus = Record<string, string>;
interface Ports {
  sql: number;
  gcomm: number;
  ist: number;
  sst: number;
}

const onPath = (name: string) =>
  (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, name)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether this machine can run the cluster; tests skip with `why` when it cannot. */
export function galeraAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'the Galera harness runs on Linux only' };
  if (!fs.existsSync(GALERA_PROVIDER))
    return { ok: false, why: `${GALERA_PROVIDER} is missing (apt-get install galera-4)` };
  try {
    if (findServerBinary().flavor !== 'mariadb')
      return { ok: false, why: 'the server binary found is MySQL, not MariaDB (Galera needs mariadbd)' };
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
  // The rsync state transfer (SST) script also needs a tool that shows who listens on a port.
  for (const tool of ['rsync', 'wsrep_sst_rsync'])
    if (!onPath(tool)) return { ok: false, why: `${tool} is not on PATH (apt-get install rsync mariadb-server)` };
  if (!['ss', 'lsof', 'sockstat'].some(onPath))
    return { ok: false, why: 'the rsync SST needs ss, lsof or sockstat on PATH (apt-get install iproute2)' };
  return { ok: true };
}

/**
 * Ports from 20000-32767: below Linux's ephemeral range (32768+), so that no outgoing connection
 * (Galera's, a client's) takes one between our pick and the node binding it; each is checked free.
 * Never 3306, 4444, 4567, 4568 (a system server's).
 */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) =>
      server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true))),
    );
    if (free && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

function serverArgs(index: number, ports: Ports[], clusterName: string): string[] {
  const p = ports[index];
  const provider = [
    `base_host=127.0.0.1;base_port=${p.gcomm};gmcast.listen_addr=tcp://127.0.0.1:${p.gcomm}`, // default 0.0.0.0
    `ist.recv_addr=127.0.0.1:${p.ist};gcache.size=16M`,
    // A killed node is declared gone after ~3 s (defaults: 5 s suspect, 15 s inactive); not less:
    // on 2 busy cores a node in a state transfer must not be taken for a dead one.
    'evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT3S;evs.install_timeout=PT3S',
  ];
  return [
    ...[
      '--skip-networking=0',
      `--port=${p.sql}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--innodb-flush-log-at-trx-commit=2',
    ],
    '--innodb-log-file-size=16M', // the rsync SST copies the redo log: 96 MB by default
    ...['--binlog-format=ROW', '--innodb-autoinc-lock-mode=2', `--wsrep-provider=${GALERA_PROVIDER}`, '--wsrep-on=ON'],
    // A cluster name of its own: a node of another test's cluster can never join this one.
    `--wsrep-cluster-name=${clusterName}`,
    `--wsrep-cluster-address=gcomm://${ports.map((q) => `127.0.0.1:${q.gcomm}`).join(',')}`,
    ...[
      `--wsrep-node-address=127.0.0.1:${p.gcomm}`,
      `--wsrep-node-incoming-address=127.0.0.1:${p.sql}`,
      `--wsrep-node-name=node${index}`,
    ],
    `--wsrep-provider-options=${provider.join(';')}`,
    ...['--wsrep-sst-method=rsync', `--wsrep-sst-receive-address=127.0.0.1:${p.sst}`],
    ...(index === 0 ? ['--wsrep-new-cluster'] : []),
  ];
}

/**
 * A joiner's data folder: empty, marked initialised so that ensureEmbeddedServer skips
 * mariadb-install-db (~5 s a node): the rsync state transfer replaces the folder with the donor's
 * anyway. Run as root, its receiving rsync daemon drops to user `nobody` (rsyncd's default;
 * wsrep_sst_rsync sets no `uid`), which cannot enter root's 0700 folders ("rsync: cannot stat
 * destination: Permission denied", the joiner aborts): its folders are given to nobody
 * (ensureEmbeddedServer keeps them 0700; mariadbd as root still reads them).
 */
function prepareJoiner(dataDir: string, baseDir: string): void {
  const paths = serverPaths(dataDir);
  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(paths.initializedMarker, 'galera joiner: filled by the state transfer\n');
  if (process.getuid?.() !== 0) return;
  const nobody = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('nobody:'))
    ?.split(':');
  for (const dir of [dataDir, paths.root, paths.dataDir])
    fs.chownSync(dir, Number(nobody?.[2] ?? 65534), Number(nobody?.[3] ?? 65534));
  fs.chmodSync(baseDir, 0o711); // lets nobody pass through
}

async function query<T = Record<string, unknown>[]>(options: mysql.ConnectionOptions, sql: string): Promise<T> {
  const connection = await mysql.createConnection({ ...options, connectTimeout: 2000 });
  try {
    return (await connection.query(sql))[0] as T;
  } finally {
    connection.destroy();
  }
}

export class GaleraCluster {
  private readonly killed = new Set<number>();
  private readonly pids: (number | undefined)[];
  /** Members of the last primary component: quorum needs more than half of them. */
  private primaryMembers: number;
  private readonly onExit = () => {
    for (const pid of this.pids) if (isProcessAlive(pid)) process.kill(pid!, 'SIGKILL');
  };

  private constructor(
    readonly nodes: GaleraNode[],
    private readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
  ) {
    this.pids = nodes.map(() => undefined);
    this.primaryMembers = nodes.length;
    process.once('exit', this.onExit); // a test that dies without stop() leaves no server behind
  }

  /** Starts `nodes` (3) nodes, one after the other; returns once each is Synced in one primary component. */
  static async start(
    options: { nodes?: number; baseDir?: string; startTimeoutMs?: number } = {},
  ): Promise<GaleraCluster> {
    const count = options.nodes ?? 3;
    const timeoutMs = options.startTimeoutMs ?? 120_000; // per step; a loaded 2-core machine is slow
    const baseDir = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-galera-'));
    const flat = await freePorts(count * 4);
    const ports: Ports[] = Array.from({ length: count }, (_, i) => ({
      sql: flat[4 * i],
      gcomm: flat[4 * i + 1],
      ist: flat[4 * i + 2],
      sst: flat[4 * i + 3],
    }));
    const password = randomBytes(9).toString('hex');
    const clusterName = `taskman-${randomBytes(4).toString('hex')}`;
    const nodes = ports.map((p, index): GaleraNode => {
      const dataDir = path.join(baseDir, `node${index}`);
      const paths = serverPaths(dataDir);
      const url = formatDatabaseUrl(
        { host: '127.0.0.1', port: p.sql, socketPath: undefined, user: USER, password, database: DATABASE },
        { withPassword: true },
      );
      const socketUrl = formatDatabaseUrl(
        {
          host: 'localhost',
          port: 3306,
          socketPath: paths.socket,
          user: 'root',
          password: undefined,
          database: DATABASE,
        },
        { withPassword: false },
      );
      return { index, port: p.sql, url, socketUrl, dataDir, logFile: paths.logFile, pid: () => cluster.pids[index] };
    });
    const cluster: GaleraCluster = new GaleraCluster(nodes, baseDir, !options.baseDir);
    const synced = (s: WsrepStatus) => s.wsrep_ready === 'ON' && s.wsrep_local_state_comment === 'Synced';
    try {
      cluster.pids[0] = (
        await ensureEmbeddedServer({
          dataDir: nodes[0].dataDir,
          serverArgs: serverArgs(0, ports, clusterName),
          startTimeoutMs: timeoutMs,
        })
      ).pid;
      await cluster.waitAll(synced, timeoutMs, [0]);
      // The embedded root may log in over the socket only; tests (and proxies) need TCP. Made
      // before the joiners start, so that their state transfer brings the user along.
      await query(cluster.socketOptions(0), `CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await query(cluster.socketOptions(0), `GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'127.0.0.1' WITH GRANT OPTION`);
      // Joiners one at a time: started together they disturbed each other's joining (the second
      // took ~7 s more) and one waits for the donor anyway; in turn each takes ~6 s.
      for (let index = 1; index < count; index++) {
        prepareJoiner(nodes[index].dataDir, baseDir);
        // A joiner opens its socket once the state transfer is in, maybe still applying the writes
        // made since (IST): ensureEmbeddedServer's CREATE DATABASE then fails with errno 1047
        // (WSREP has not yet prepared node...), or the joiner drops that connection as it finishes
        // joining (PROTOCOL_CONNECTION_LOST, seen once in CI), while the server runs on. Harmless:
        // the database came with the transfer, and the node is waited for below.
        await ensureEmbeddedServer({
          dataDir: nodes[index].dataDir,
          serverArgs: serverArgs(index, ports, clusterName),
          startTimeoutMs: timeoutMs,
        }).catch((error) => {
          const { errno, code } = error as { errno?: number; code?: string };
          if (errno !== 1047 && code !== 'PROTOCOL_CONNECTION_LOST') throw error;
        });
        cluster.pids[index] = Number(fs.readFileSync(serverPaths(nodes[index].dataDir).pidFile, 'utf8'));
        await cluster.waitAll(synced, timeoutMs, [index]);
      }
      await cluster.waitAll(
        (s) => synced(s) && Number(s.wsrep_cluster_size) === count && s.wsrep_cluster_status === 'Primary',
        timeoutMs,
      );
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** mysql2 options for a node's unix socket as root: works whatever the node's wsrep state. */
  socketOptions(index: number, database?: string): mysql.ConnectionOptions {
    return { socketPath: serverPaths(this.nodes[index].dataDir).socket, user: 'root', database };
  }

  /** A connection to a node over TCP as the cluster's user, database 'taskman'. */
  connect(index: number): Promise<mysql.Connection> {
    return mysql.createConnection(this.nodes[index].url);
  }

  async status(index: number): Promise<WsrepStatus> {
    const rows = await query<{ Variable_name: string; Value: string }[]>(
      this.socketOptions(index),
      "SHOW GLOBAL STATUS LIKE 'wsrep%'",
    );
    return Object.fromEntries(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
  }

  async clusterSize(index: number): Promise<number> {
    return Number((await this.status(index)).wsrep_cluster_size);
  }

  /**
   * SIGKILLs node `index` (no goodbye to the others: a crash, a pulled cable) and waits until the
   * survivors agree on a view without it. With quorum (more than half of the last primary
   * component) they must be Primary and ready; without, non-Primary and not ready, where clients
   * get errno 1047 (WSREP has not yet prepared node for application use).
   */
  async kill(index: number, timeoutMs = 30_000): Promise<void> {
    const pid = this.pids[index];
    if (this.killed.has(index) || !isProcessAlive(pid)) throw new Error(`Galera node ${index} is not running`);
    process.kill(pid!, 'SIGKILL');
    this.killed.add(index);
    while (isProcessAlive(pid)) await sleep(10);
    this.pids[index] = undefined;
    // Else stop() (stopEmbeddedServer) would signal whatever process is later given that pid.
    fs.rmSync(serverPaths(this.nodes[index].dataDir).pidFile, { force: true });
    const alive = this.nodes.length - this.killed.size;
    const quorum = alive * 2 > this.primaryMembers;
    await this.waitAll(
      (s) =>
        Number(s.wsrep_cluster_size) === alive &&
        (quorum
          ? s.wsrep_cluster_status === 'Primary' && s.wsrep_ready === 'ON'
          : s.wsrep_cluster_status !== 'Primary' && s.wsrep_ready === 'OFF'),
      timeoutMs,
    );
    if (quorum) this.primaryMembers = alive;
  }

  /** Stops every node (SIGTERM, then SIGKILL) and removes the folders this cluster made. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) => stopEmbeddedServer({ dataDir: node.dataDir, timeoutMs: 20_000 }).catch(() => false)),
    );
    this.onExit(); // a node whose pid file was not yet written
    process.removeListener('exit', this.onExit);
    if (process.env.TASKMAN_GALERA_KEEP) return; // keep the folders, and the servers' logs, to look into
    if (this.ownsBaseDir) fs.rmSync(this.baseDir, { recursive: true, force: true });
    else for (const node of this.nodes) fs.rmSync(node.dataDir, { recursive: true, force: true });
  }

  /** Waits until `ok` holds on each of `indexes` (default: every node not killed); on timeout, says where each stands. */
  private async waitAll(
    ok: (s: WsrepStatus) => boolean,
    timeoutMs: number,
    indexes = this.nodes.map((n) => n.index).filter((i) => !this.killed.has(i)),
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: (WsrepStatus | Error)[] = [];
    for (;;) {
      last = await Promise.all(indexes.map((i) => this.status(i).catch((error: Error) => error)));
      if (last.every((s) => !(s instanceof Error) && ok(s))) return;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const where = indexes.map((index, i) => {
      const s = last[i];
      const log = fs.existsSync(this.nodes[index].logFile)
        ? fs.readFileSync(this.nodes[index].logFile, 'utf8').trimEnd().split('\n').slice(-8).join('\n')
        : '(no log)';
      return `node ${index}: ${s instanceof Error ? s.message : `size ${s.wsrep_cluster_size}, ${s.wsrep_cluster_status}, ${s.wsrep_local_state_comment}, ready ${s.wsrep_ready}`}; ${this.nodes[index].logFile} ends with:\n${log}`;
    });
    throw new Error(
      `Galera cluster: nodes ${indexes.join(', ')} not as expected after ${timeoutMs} ms:\n${where.join('\n')}`,
    );
  }
}
