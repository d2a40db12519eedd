import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, parseDatabaseUrl, stopEmbeddedServer } from '../../src/core';
import { createDatabaseOn, type TestDatabase } from '../../test/helpers/database';
import { freePort } from '../../test/helpers/faultProxy';

/**
 * The MySQL server the benchmarks use: TASKMAN_BENCH_DATABASE_URL, else a private server started
 * from the machine's mariadbd/mysqld with the embedded-server code users get (durable settings:
 * every commit is flushed, as in production).
 */
export class BenchServer {
  private constructor(
    readonly url: string,
    private readonly dataDir: string | undefined,
    /** The private server's process (its CPU is measured); undefined for a server given by URL. */
    readonly pid: number | undefined,
    /** The server over TCP on 127.0.0.1 (a proxy can stand between), as a URL without a database. */
    private readonly tcp: string,
  ) {}

  static async start(): Promise<BenchServer> {
    const given = process.env.TASKMAN_BENCH_DATABASE_URL;
    if (given) return new BenchServer(given, undefined, undefined, given);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-bench-'));
    const port = await freePort();
    const server = await ensureEmbeddedServer({
      dataDir,
      serverArgs: ['--max-connections=500', '--skip-networking=0', '--bind-address=127.0.0.1', `--port=${port}`],
    });
    const password = randomBytes(9).toString('hex');
    const admin = await mysql.createConnection(connectionOptions(server.url));
    await admin.query(`CREATE USER IF NOT EXISTS 'taskman_bench'@'127.0.0.1' IDENTIFIED BY '${password}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO 'taskman_bench'@'127.0.0.1'`);
    await admin.end();
    const tcp = `mysql://taskman_bench:${password}@127.0.0.1:${port}/?ssl-mode=disabled`;
    return new BenchServer(server.url, dataDir, server.pid, tcp);
  }

  /** The URL of `database` over TCP, for a client that reaches the server through a proxy. */
  tcpUrl(database: string): string {
    const url = new URL(this.tcp);
    url.pathname = `/${database}`;
    return url.toString();
  }

  async version(): Promise<string> {
    const sql = await this.admin();
    try {
      const [rows] = await sql.query('SELECT VERSION() AS v');
      return String((rows as { v: string }[])[0].v);
    } finally {
      await sql.end();
    }
  }

  /** A plain connection to the server (no database selected). */
  async admin(database?: string): Promise<mysql.Connection> {
    return mysql.createConnection(connectionOptions(this.url, database));
  }

  /** A fresh, migrated database; drop() removes it. */
  freshDatabase(): Promise<BenchDatabase> {
    return createDatabaseOn(this.url, 'taskman_bench_');
  }

  async stop(): Promise<void> {
    if (!this.dataDir) return;
    await stopEmbeddedServer({ dataDir: this.dataDir });
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export type BenchDatabase = TestDatabase;

export function connectionOptions(url: string, database?: string): mysql.ConnectionOptions {
  const target = parseDatabaseUrl(url);
  const common = {
    user: target.user,
    password: target.password,
    database: database ?? target.database,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
  return target.socketPath
    ? { ...common, socketPath: target.socketPath }
    : { ...common, host: target.host, port: target.port };
}

/**
 * The server's counters of work done: statements sent by clients (`Questions`), statements run,
 * inside stored procedures too (`Queries`), and transactions that wrote (`Innodb_log_writes`: one
 * per committed write transaction, autocommit statements included; read-only ones write none).
 */
export async function serverStatementCounts(
  sql: mysql.Connection,
): Promise<{ questions: number; queries: number; writeCommits: number }> {
  const [rows] = await sql.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Queries', 'Innodb_log_writes')",
  );
  const value = (name: string) =>
    Number((rows as { Variable_name: string; Value: string }[]).find((row) => row.Variable_name === name)?.Value);
  return { questions: value('Questions'), queries: value('Queries'), writeCommits: value('Innodb_log_writes') };
}
