import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmbeddedServerError } from '../errors';

export interface ServerBinary {
  /** mariadbd or mysqld. */
  server: string;
  flavor: 'mariadb' | 'mysql';
  /** mariadb-install-db (MariaDB); MySQL initialises with the server binary itself. */
  installer: string | undefined;
  version: string;
}

const SEARCH_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/bin',
  '/usr/local/mysql/bin',
  '/opt/homebrew/bin',
  '/opt/homebrew/sbin',
  '/usr/local/opt/mariadb/bin',
  '/usr/local/opt/mysql/bin',
  '/opt/homebrew/opt/mariadb/bin',
  '/opt/homebrew/opt/mysql/bin',
];

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findExecutable(names: string[], searchDirs: string[], near?: string): string | undefined {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const dirs = [...(near ? [path.dirname(near)] : []), ...fromPath, ...searchDirs];
  for (const name of names) {
    for (const file of dirs.map((dir) => path.join(dir, name))) {
      if (isExecutableFile(file)) return file;
    }
  }
  return undefined;
}

/**
 * Finds a MySQL-compatible server binary: `mariadbd` or `mysqld` on PATH or in the usual sbin
 * folders, or the one named by TASKMAN_MYSQLD.
 */
export function findServerBinary(explicit = process.env.TASKMAN_MYSQLD, searchDirs = SEARCH_DIRS): ServerBinary {
  if (explicit && !isExecutableFile(explicit)) {
    throw new EmbeddedServerError(
      'EMBEDDED_SERVER_MISSING',
      `TASKMAN_MYSQLD is set to ${explicit}, which is not an executable file. Point it at mariadbd or mysqld, or unset it.`,
    );
  }
  const server = explicit || findExecutable(['mariadbd', 'mysqld'], searchDirs);
  if (!server) {
    throw new EmbeddedServerError(
      'EMBEDDED_SERVER_MISSING',
      'No database is configured and no MySQL-compatible server binary (mariadbd or mysqld) was found. ' +
        'Install one (Debian/Ubuntu: apt-get install mariadb-server; macOS: brew install mariadb), ' +
        'set TASKMAN_MYSQLD to its path, or set TASKMAN_DATABASE_URL=mysql://user:password@host:3306/database.',
    );
  }
  let version: string;
  try {
    version = execFileSync(server, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .toString()
      .trim();
  } catch (cause) {
    throw new EmbeddedServerError(
      'EMBEDDED_SERVER_FAILED',
      `${server} --version failed; is it a MySQL or MariaDB server binary?`,
      { cause },
    );
  }
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const installer =
    flavor === 'mariadb' ? findExecutable(['mariadb-install-db', 'mysql_install_db'], searchDirs, server) : undefined;
  if (flavor === 'mariadb' && !installer) {
    throw new EmbeddedServerError(
      'EMBEDDED_SERVER_MISSING',
      `Found ${server} but not mariadb-install-db beside it or on PATH; install the full MariaDB server package.`,
    );
  }
  return { server, flavor, installer, version };
}
