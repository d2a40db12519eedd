import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as mysql from 'mysql2/promise';
import { sleep } from '../timing';
import { type DatabaseTarget, formatDatabaseUrl } from '../database/url';
import { EmbeddedServerError, errorMessage } from '../errors';
import { type Logger, silentLogger } from '../logger';
import { isProcessAlive } from '../processes';
import { defaultDataDir, ensurePrivateDir, type ServerPaths, serverPaths } from './dataDir';
import { withStartLock } from './startLock';
import { findServerBinary, type ServerBinary } from './serverBinary';

const run = promisify(execFile);

export const EMBEDDED_DATABASE = 'taskman';

export interface EmbeddedServerOptions {
  /** Taskman's data folder; the server lives in its `mysql/` subfolder. Default: defaultDataDir(). */
  dataDir?: string;
  /** Server binary; default: TASKMAN_MYSQLD, else found on PATH or in the usual sbin folders. */
  binary?: string;
  /** Extra server options, e.g. `--innodb-flush-log-at-trx-commit=2` for throwaway test servers. */
  serverArgs?: string[];
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface EmbeddedServerStatus {
  running: boolean;
  pid: number | undefined;
  socket: string;
  dataDir: string;
  initialized: boolean;
}

export interface EmbeddedServerInfo {
  target: DatabaseTarget;
  url: string;
  pid: number | undefined;
  /** False when an instance started by another process was reused. */
  startedNow: boolean;
  /** Milliseconds from spawning the server to it accepting connections (when started now). */
  startMs: number | undefined;
  paths: ServerPaths;
}

function targetFor(paths: ServerPaths): DatabaseTarget {
  return {
    host: 'localhost',
    port: 3306,
    socketPath: paths.socket,
    user: 'root',
    password: undefined,
    database: EMBEDDED_DATABASE,
  };
}

/** True when something accepts connections on the socket. */
function socketAccepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = net.createConnection({ path: socket });
    connection.once('connect', () => {
      connection.destroy();
      resolve(true);
    });
    connection.once('error', () => resolve(false));
  });
}

function readPid(paths: ServerPaths): number | undefined {
  try {
    const pid = Number(fs.readFileSync(paths.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function embeddedServerStatus(options: EmbeddedServerOptions = {}): Promise<EmbeddedServerStatus> {
  const paths = serverPaths(options.dataDir ?? defaultDataDir());
  const pid = readPid(paths);
  const running = isProcessAlive(pid) && (await socketAccepts(paths.socket));
  return {
    running,
    pid: running ? pid : undefined,
    socket: paths.socket,
    dataDir: paths.dataDir,
    initialized: fs.existsSync(paths.initializedMarker),
  };
}

/**
 * Starts the private server if it is not running, or reuses the one another process started.
 * Data lives in `<dataDir>/mysql`, mode 0700; the server listens on a unix socket only.
 * A lock file makes concurrent callers (CLI workers, VS Code windows) start it once.
 */
export async function ensureEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServerInfo> {
  const logger = options.logger ?? silentLogger;
  const paths = serverPaths(options.dataDir ?? defaultDataDir());
  ensurePrivateDir(path.dirname(paths.root));
  ensurePrivateDir(paths.root);
  ensurePrivateDir(paths.tmpDir);
  ensurePrivateDir(path.dirname(paths.socket));
  const reuse = async (): Promise<EmbeddedServerInfo | undefined> => {
    const pid = readPid(paths);
    if (isProcessAlive(pid) && (await socketAccepts(paths.socket))) {
      return {
        target: targetFor(paths),
        url: formatDatabaseUrl(targetFor(paths), { withPassword: false }),
        pid,
        startedNow: false,
        startMs: undefined,
        paths,
      };
    }
    return undefined;
  };
  const running = await reuse();
  if (running) return running;
  return withStartLock(paths.lockFile, options.startTimeoutMs ?? 60_000, async () => {
    const again = await reuse();
    if (again) return again;
    const binary = findServerBinary(options.binary);
    if (!fs.existsSync(paths.initializedMarker)) await initialise(binary, paths, logger);
    const began = performance.now();
    const pid = await startServer(binary, paths, options, logger);
    const startMs = performance.now() - began;
    await createDatabase(paths);
    logger.info(
      `embedded ${binary.flavor} server started in ${Math.round(startMs)} ms (pid ${pid}, socket ${paths.socket})`,
    );
    return {
      target: targetFor(paths),
      url: formatDatabaseUrl(targetFor(paths), { withPassword: false }),
      pid,
      startedNow: true,
      startMs,
      paths,
    };
  });
}

function userArgs(): string[] {
  // mariadbd and mysqld refuse to run as root unless told to.
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

async function initialise(binary: ServerBinary, paths: ServerPaths, logger: Logger): Promise<void> {
  logger.info(`initialising the embedded database in ${paths.dataDir} (first start only)`);
  fs.rmSync(paths.dataDir, { recursive: true, force: true });
  try {
    if (binary.flavor === 'mariadb') {
      ensurePrivateDir(paths.dataDir);
      await run(
        binary.installer!,
        [
          '--no-defaults',
          `--datadir=${paths.dataDir}`,
          `--tmpdir=${paths.tmpDir}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
          ...userArgs(),
        ],
        { timeout: 120_000 },
      );
    } else {
      await run(
        binary.server,
        [
          '--no-defaults',
          '--initialize-insecure',
          `--datadir=${paths.dataDir}`,
          `--tmpdir=${paths.tmpDir}`,
          ...userArgs(),
        ],
        { timeout: 120_000 },
      );
    }
  } catch (cause) {
    const detail =
      (cause as { stderr?: string }).stderr?.trim().split('\n').slice(-5).join('\n') ?? errorMessage(cause);
    throw new EmbeddedServerError(
      'EMBEDDED_SERVER_FAILED',
      `Initialising the embedded database in ${paths.dataDir} failed:\n${detail}`,
      { cause },
    );
  }
  fs.chmodSync(paths.dataDir, 0o700);
  fs.writeFileSync(paths.initializedMarker, `${binary.version}\n`);
}

async function startServer(
  binary: ServerBinary,
  paths: ServerPaths,
  options: EmbeddedServerOptions,
  logger: Logger,
): Promise<number> {
  fs.rmSync(paths.socket, { force: true });
  const args = [
    '--no-defaults',
    `--datadir=${paths.dataDir}`,
    `--tmpdir=${paths.tmpDir}`,
    `--socket=${paths.socket}`,
    '--skip-networking',
    `--pid-file=${paths.pidFile}`,
    `--log-error=${paths.logFile}`,
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--innodb-buffer-pool-size=64M',
    '--max-connections=1000',
    binary.flavor === 'mariadb' ? '--skip-log-bin' : '--disable-log-bin',
    ...userArgs(),
    ...(options.serverArgs ?? []),
  ];
  const child = spawn(binary.server, args, { detached: true, stdio: 'ignore' });
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (error) => (exited = error.message));
  const deadline = performance.now() + (options.startTimeoutMs ?? 60_000);
  while (performance.now() < deadline) {
    if (exited) break;
    if (await socketAccepts(paths.socket)) return child.pid!;
    await sleep(10);
  }
  if (!exited) child.kill('SIGKILL');
  const log = tail(paths.logFile, 8);
  logger.error(`embedded server did not start; its log ${paths.logFile} ends with:\n${log}`);
  throw new EmbeddedServerError(
    'EMBEDDED_SERVER_FAILED',
    `The embedded server (${binary.server}) ${exited ? `exited (${exited})` : 'did not accept connections in time'}. Its log ${paths.logFile} ends with:\n${log}`,
  );
}

async function createDatabase(paths: ServerPaths): Promise<void> {
  const connection = await mysql.createConnection({ socketPath: paths.socket, user: 'root' });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${EMBEDDED_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await connection.end();
  }
}

/** Stops the embedded server (SIGTERM, then SIGKILL after `timeoutMs`). False when it was not running. */
export async function stopEmbeddedServer(
  options: EmbeddedServerOptions & { timeoutMs?: number } = {},
): Promise<boolean> {
  const paths = serverPaths(options.dataDir ?? defaultDataDir());
  const pid = readPid(paths);
  if (!isProcessAlive(pid)) return false;
  process.kill(pid!, 'SIGTERM');
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  while (isProcessAlive(pid) && performance.now() < deadline) await sleep(20);
  if (isProcessAlive(pid)) process.kill(pid!, 'SIGKILL');
  while (isProcessAlive(pid)) await sleep(20);
  return true;
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split(os.EOL).slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
