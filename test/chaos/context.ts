import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, stopEmbeddedServer, Taskman } from '../../src/core';
import { connectionOptions } from '../helpers/database';
import { freePort } from '../helpers/faultProxy';

export interface Profile {
  name: 'small' | 'full';
  raceTasks: number;
  raceSchedulers: number;
  stormTasks: number;
  outageRestarts: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  small: { name: 'small', raceTasks: 400, raceSchedulers: 8, stormTasks: 120, outageRestarts: 2 },
  full: { name: 'full', raceTasks: 5000, raceSchedulers: 8, stormTasks: 1000, outageRestarts: 5 },
};

/** One line of the report: what the case expects, what it saw, and the figures behind it. */
export interface Row {
  case: string;
  expected: string;
  observed: string;
  figures: string;
  ok: boolean;
}

/**
 * A private server (the outage case stops it), one database per case, a side table of executions.
 * It listens on its unix socket and on 127.0.0.1, where the network cases put a fault-injecting
 * proxy between schedulers and the server.
 */
export class ChaosContext {
  private constructor(
    readonly dataDir: string,
    readonly serverUrl: string,
    /** The options the server was started with, to start it again the same way. */
    readonly serverArgs: string[],
    readonly tcp: { host: string; port: number; user: string; password: string },
  ) {}

  static async start(): Promise<ChaosContext> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-'));
    const port = await freePort();
    const serverArgs = [
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-networking=0',
      '--bind-address=127.0.0.1',
      `--port=${port}`,
    ];
    const server = await ensureEmbeddedServer({ dataDir, serverArgs });
    const tcp = { host: '127.0.0.1', port, user: 'taskman', password: randomBytes(9).toString('hex') };
    const admin = await mysql.createConnection(connectionOptions(server.url) as mysql.ConnectionOptions);
    await admin.query(`CREATE USER IF NOT EXISTS 'taskman'@'127.0.0.1' IDENTIFIED BY '${tcp.password}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO 'taskman'@'127.0.0.1'`);
    await admin.end();
    return new ChaosContext(dataDir, server.url, serverArgs, tcp);
  }

  /** The URL of a case's database over TCP to `port` (the server's own, or a proxy's). */
  tcpUrl(database: string, port = this.tcp.port, query = 'ssl-mode=disabled'): string {
    return `mysql://${this.tcp.user}:${this.tcp.password}@${this.tcp.host}:${port}/${database}?${query}`;
  }

  /** A fresh database for one case, with the executions table the task bodies write to. */
  async database(name: string): Promise<{
    url: string;
    database: string;
    taskman: Taskman;
    sql: mysql.Connection;
    payload: Record<string, unknown>;
  }> {
    const url = this.serverUrl.replace('/taskman?', `/chaos_${name}?`);
    const admin = await mysql.createConnection(connectionOptions(this.serverUrl) as mysql.ConnectionOptions);
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`chaos_${name}\``);
    await admin.changeUser({ database: `chaos_${name}` });
    await admin.query(
      'CREATE TABLE IF NOT EXISTS executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)',
    );
    const taskman = await Taskman.connect({ url, connectRetries: 20 });
    return {
      url,
      database: `chaos_${name}`,
      taskman,
      sql: admin,
      payload: { connection: connectionOptions(url), table: 'executions' },
    };
  }

  async stop(): Promise<void> {
    await stopEmbeddedServer({ dataDir: this.dataDir });
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function executions(sql: mysql.Connection): Promise<{ tasks: number; runs: number; duplicated: number }> {
  const [[row]] = (await sql.query(
    'SELECT COUNT(*) AS tasks, COALESCE(SUM(runs), 0) AS runs, COALESCE(SUM(runs > 1), 0) AS duplicated FROM executions',
  )) as never as [[Record<string, string>]];
  return { tasks: Number(row.tasks), runs: Number(row.runs), duplicated: Number(row.duplicated) };
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const began = performance.now();
  while (!(await check())) {
    if (performance.now() - began > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return performance.now() - began;
}

export function formatTable(rows: Row[]): string {
  const header = ['case', 'expected', 'observed', 'figures', 'ok'];
  const cells = rows.map((r) => [r.case, r.expected, r.observed, r.figures, r.ok ? 'yes' : 'MISS']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
