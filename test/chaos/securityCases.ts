import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as mysql from 'mysql2/promise';
import { ensureEmbeddedServer, loadApplicationConfig, type Logger, stopEmbeddedServer, Taskman } from '../../src/core';
import { serverPaths } from '../../src/core/embedded/dataDir';
import { connectionOptions, fixtureApp, runnerScript } from '../helpers/database';
import { cliPath } from '../helpers/cli';
import { FAST_TIMINGS } from '../helpers/scheduler';
import { type ChaosContext, type Row, waitUntil } from './context';

const run = promisify(execFile);
const PASSWORD = 'S3cret-Chaos-Pw';

/** The database password never appears in logs, task rows, error messages or the runner's environment. */
export async function passwordNeverLeaks(ctx: ChaosContext): Promise<Row> {
  const admin = await mysql.createConnection(connectionOptions(ctx.serverUrl) as mysql.ConnectionOptions);
  await admin.query('CREATE DATABASE IF NOT EXISTS chaos_leak');
  await admin.query(`CREATE USER IF NOT EXISTS 'chaos_pw'@'localhost' IDENTIFIED BY '${PASSWORD}'`);
  await admin.query("GRANT ALL ON chaos_leak.* TO 'chaos_pw'@'localhost'");
  const socket = new URL(ctx.serverUrl).searchParams.get('socket')!;
  const url = `mysql://chaos_pw:${PASSWORD}@localhost/chaos_leak?socket=${socket}`;
  const wrongUrl = `mysql://chaos_pw:Wr0ng-${PASSWORD.split('').reverse().join('')}@localhost/chaos_leak?socket=${socket}`;
  const said: string[] = [];
  const logger: Logger = {
    debug: (m) => said.push(m),
    info: (m) => said.push(m),
    warn: (m) => said.push(m),
    error: (m) => said.push(m),
  };
  const taskman = await Taskman.connect({ url, logger });
  const scheduler = taskman.createScheduler({
    applications: [loadApplicationConfig(fixtureApp('basic'))],
    journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-journal-')),
    runnerScript,
    logger,
    ...FAST_TIMINGS,
  });
  await scheduler.start();
  try {
    const ids = [];
    for (const task of ['environment', 'fail', 'echo', 'crash'])
      ids.push((await taskman.submit({ application: 'fixture-basic', task })).id);
    await waitUntil(
      'the tasks to end',
      async () => {
        const c = await taskman.countByState();
        return c.pending + c.running === 0;
      },
      60_000,
    );
    const errors: string[] = [];
    await Taskman.connect({ url: wrongUrl, connectRetries: 0 }).catch((error: Error) =>
      errors.push(`${error.message} ${error.stack}`),
    );
    await Taskman.connect({ url: url.replace('chaos_leak', 'chaos_missing'), connectRetries: 0 }).catch(
      (error: Error) => errors.push(`${error.message} ${error.stack}`),
    );
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    for (const args of [
      ['show', ids[1], '--database', url, '--verbose'],
      ['list', '--database', wrongUrl, '--verbose'],
      ['list', '--database', `${url.replace('/chaos_leak?', ':notaport/chaos_leak?')}`],
    ]) {
      const result = await run(process.execPath, [cliPath, ...args], { env }).catch(
        (error: { stdout: string; stderr: string }) => error,
      );
      errors.push(result.stdout, result.stderr);
    }
    const [rows] = await admin.query('SELECT * FROM chaos_leak.taskman_task');
    const haystacks = {
      logs: said.join('\n'),
      'task rows': JSON.stringify(rows),
      'error messages and CLI output': errors.join('\n'),
    };
    const leaks = Object.entries(haystacks)
      .filter(([, text]) => text.includes(PASSWORD) || text.includes(PASSWORD.split('').reverse().join('')))
      .map(([where]) => where);
    const runnerEnv = JSON.stringify((await taskman.get(ids[0])).result);
    return {
      case: 'security: password',
      expected: 'the password is in no log, task row, error message, CLI output or runner environment',
      observed: leaks.length ? `FOUND in ${leaks.join(', ')}` : 'found nowhere',
      figures: `scanned ${said.length} log lines, ${(rows as unknown[]).length} task rows, ${errors.length} error texts; runner env has ${Object.keys(JSON.parse(runnerEnv).env).length} variables`,
      ok: leaks.length === 0 && !runnerEnv.includes(PASSWORD),
    };
  } finally {
    await scheduler.stop();
    await taskman.close();
    await admin.end();
  }
}

/** The embedded server listens on no TCP port and keeps its folder private. */
/** The embedded server as users get it (the suite's own server also listens on 127.0.0.1, for the network cases). */
export async function embeddedServerIsPrivate(): Promise<Row> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-private-'));
  try {
    await ensureEmbeddedServer({ dataDir });
    return inspectServer(serverPaths(dataDir));
  } finally {
    await stopEmbeddedServer({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function inspectServer(paths: ReturnType<typeof serverPaths>): Row {
  const pid = Number(fs.readFileSync(paths.pidFile, 'utf8').trim());
  const socketInodes = new Set(
    fs
      .readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter(Boolean),
  );
  const listening: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && socketInodes.has(fields[9])) listening.push(fields[1]);
    }
  }
  const modes = [paths.root, paths.dataDir].map((dir) => (fs.statSync(dir).mode & 0o777).toString(8));
  return {
    case: 'security: embedded server',
    expected: 'no TCP listener; data folders 0700',
    observed: `${listening.length} TCP listeners; folders ${modes.join(', ')}`,
    figures: `pid ${pid}, ${socketInodes.size} sockets open, unix socket ${paths.socket}`,
    ok: listening.length === 0 && modes.every((mode) => mode === '700'),
  };
}
