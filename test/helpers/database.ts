import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, formatDatabaseUrl, parseDatabaseUrl, Taskman } from '../../src/core';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const runnerScript = path.join(repoRoot, 'dist', 'runner.js');

export function fixtureApp(name: string): string {
  return path.join(repoRoot, 'test', 'fixtures', 'apps', name);
}

/**
 * The server tests run against: TASKMAN_TEST_DATABASE_URL (set by test/run.mjs, which starts a
 * private server from the machine's mariadbd/mysqld, or given by the user for an existing server).
 * A test file run on its own starts a private server in the temp folder and leaves it for reuse.
 */
async function serverUrl(): Promise<string> {
  if (process.env.TASKMAN_TEST_DATABASE_URL) return process.env.TASKMAN_TEST_DATABASE_URL;
  const server = await ensureEmbeddedServer({
    dataDir: path.join(os.tmpdir(), `taskman-test-server-${process.getuid?.() ?? 0}`),
    serverArgs: ['--innodb-flush-log-at-trx-commit=2'],
  });
  process.env.TASKMAN_TEST_DATABASE_URL = server.url;
  return server.url;
}

/** mysql2 connection options for a URL (mysql2 itself does not read `?socket=`). */
export function connectionOptions(url: string): Record<string, unknown> {
  const target = parseDatabaseUrl(url);
  return target.socketPath
    ? { socketPath: target.socketPath, user: target.user, password: target.password, database: target.database }
    : { host: target.host, port: target.port, user: target.user, password: target.password, database: target.database };
}

export interface TestDatabase {
  url: string;
  name: string;
  taskman: Taskman;
  /** A plain connection for checks a test makes behind Taskman's back. */
  sql: mysql.Connection;
  drop(): Promise<void>;
}

/** A fresh database for one test file, migrated, with a connected Taskman client. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabaseOn(await serverUrl(), 'taskman_t_');
}

/** A fresh, migrated database on the server at `serverUrl` (tests and benchmarks); drop() removes it. */
export async function createDatabaseOn(serverUrl: string, namePrefix: string): Promise<TestDatabase> {
  const base = parseDatabaseUrl(serverUrl);
  const name = `${namePrefix}${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({
    host: base.socketPath ? undefined : base.host,
    port: base.port,
    socketPath: base.socketPath,
    user: base.user,
    password: base.password,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.changeUser({ database: name });
  const url = formatDatabaseUrl({ ...base, database: name }, { withPassword: true });
  const taskman = await Taskman.connect({ url });
  return {
    url,
    name,
    taskman,
    sql: admin,
    async drop() {
      await taskman.close();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}
