import { DatabaseUrlError } from '../errors';

/** Where to connect, parsed from `mysql://user:pass@host:port/db?socket=/path/to.sock`. */
export interface DatabaseTarget {
  host: string;
  port: number;
  socketPath: string | undefined;
  user: string;
  password: string | undefined;
  database: string;
}

const DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;

export function parseDatabaseUrl(url: string): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new DatabaseUrlError(`The database URL ${JSON.stringify(redactUrl(url))} is not a URL. Use mysql://user:password@host:3306/database (or ?socket=/path/to.sock).`, { cause });
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new DatabaseUrlError(`The database URL must start with mysql:// (got ${parsed.protocol}//).`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!DATABASE_NAME.test(database)) {
    throw new DatabaseUrlError(`The database URL must name a database after the host, e.g. mysql://user@localhost:3306/taskman (got "${database}").`);
  }
  const socketPath = parsed.searchParams.get('socket') ?? undefined;
  for (const key of parsed.searchParams.keys()) {
    if (key !== 'socket') throw new DatabaseUrlError(`The database URL has an unknown option "${key}"; only ?socket=/path is understood.`);
  }
  if (!parsed.hostname && !socketPath) throw new DatabaseUrlError('The database URL needs a host, or ?socket=/path/to.sock for a unix socket.');
  let port = 3306;
  if (parsed.port) {
    port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DatabaseUrlError(`The database URL's port ${parsed.port} is not a valid port.`);
  }
  return {
    host: parsed.hostname || 'localhost',
    port,
    socketPath,
    user: decodeURIComponent(parsed.username) || 'root',
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
  };
}

export function formatDatabaseUrl(target: DatabaseTarget, options: { withPassword: boolean }): string {
  const auth = encodeURIComponent(target.user) + (target.password ? `:${options.withPassword ? encodeURIComponent(target.password) : '***'}` : '');
  if (target.socketPath) return `mysql://${auth}@localhost/${target.database}?socket=${encodeURI(target.socketPath)}`;
  return `mysql://${auth}@${target.host}:${target.port}/${target.database}`;
}

/** Where the target is, for messages: never includes the password. */
export function describeTarget(target: DatabaseTarget): string {
  const where = target.socketPath ? `socket ${target.socketPath}` : `${target.host}:${target.port}`;
  return `${where} as user "${target.user}", database "${target.database}"`;
}

/** Best effort: a URL with its password replaced, for messages about URLs that failed to parse. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
