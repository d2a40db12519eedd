import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Taskman's per-user data folder: TASKMAN_DATA_DIR, else the platform's place for application data
 * (XDG_DATA_HOME or ~/.local/share on Linux, Application Support on macOS, LOCALAPPDATA on Windows).
 */
export function defaultDataDir(): string {
  if (process.env.TASKMAN_DATA_DIR) return path.resolve(process.env.TASKMAN_DATA_DIR);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Taskman');
  if (process.platform === 'win32')
    return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'Taskman');
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'taskman');
}

export interface ServerPaths {
  root: string;
  dataDir: string;
  /** The server's own tmpdir: a server deletes every `#sql*` file in its tmpdir when it starts, so a shared /tmp would lose other servers' temporary tables. */
  tmpDir: string;
  socket: string;
  pidFile: string;
  logFile: string;
  lockFile: string;
  initializedMarker: string;
}

/** Unix sockets paths are limited to about 104 bytes; deep folders get a short one under /tmp. */
const MAX_SOCKET_PATH = 100;

export function serverPaths(root: string): ServerPaths {
  const base = path.join(root, 'mysql');
  let socket = path.join(base, 'mysqld.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    const hash = createHash('sha256').update(root).digest('hex').slice(0, 12);
    socket = path.join(os.tmpdir(), `taskman-${process.getuid?.() ?? 'u'}-${hash}`, 'mysqld.sock');
  }
  return {
    root: base,
    dataDir: path.join(base, 'data'),
    tmpDir: path.join(base, 'tmp'),
    socket,
    pidFile: path.join(base, 'mysqld.pid'),
    logFile: path.join(base, 'server.log'),
    lockFile: path.join(base, 'start.lock'),
    initializedMarker: path.join(base, 'data', '.taskman-initialized'),
  };
}

/** Creates `dir` (and parents) and makes it private to this user, even if it existed. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}
