import * as fs from 'node:fs';
import * as net from 'node:net';
import { DatabaseUrlError } from '../errors';

/**
 * TLS as the `mysql` client names it (`--ssl-mode`):
 * - `disabled`: plain TCP;
 * - `preferred`: TLS when the server offers it, without checking its certificate, else plain;
 * - `required`: TLS or no connection, certificate not checked;
 * - `verify-ca`: TLS with a certificate signed by a trusted CA (`ssl-ca`, else the system's);
 * - `verify-identity`: as `verify-ca`, and the certificate names the host of the URL.
 */
export const SSL_MODES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface TlsSettings {
  mode: SslMode;
  /** PEM files: the CA that signed the server's certificate, and a client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
  /** False when the mode was not in the URL but follows from the host (see defaultSslMode). */
  explicit: boolean;
}

/** Where to connect, parsed from `mysql://user:pass@host:port/db?socket=/path/to.sock&ssl-mode=…`. */
export interface DatabaseTarget {
  host: string;
  port: number;
  socketPath: string | undefined;
  user: string;
  password: string | undefined;
  database: string;
  /** Undefined for a unix socket, which never leaves the machine. */
  tls?: TlsSettings;
}

const DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;
const OPTIONS = ['socket', 'ssl-mode', 'ssl-ca', 'ssl-cert', 'ssl-key'];

/**
 * The mode when the URL names none: a server that is not on this machine is reached over networks
 * Taskman does not control, so its certificate must verify (`verify-identity`, against the
 * system's CAs unless `ssl-ca` names one); on loopback, `preferred`, as the `mysql` client does.
 */
export function defaultSslMode(host: string): SslMode {
  return isLoopback(host) ? 'preferred' : 'verify-identity';
}

export function isLoopback(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (net.isIPv4(name)) return name.startsWith('127.');
  return name === '::1';
}

export function parseDatabaseUrl(url: string): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new DatabaseUrlError(
      `The database URL ${JSON.stringify(redactUrl(url))} is not a URL. Use mysql://user:password@host:3306/database (or ?socket=/path/to.sock).`,
      { cause },
    );
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new DatabaseUrlError(`The database URL must start with mysql:// (got ${parsed.protocol}//).`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!DATABASE_NAME.test(database)) {
    throw new DatabaseUrlError(
      `The database URL must name a database after the host, e.g. mysql://user@localhost:3306/taskman (got "${database}").`,
    );
  }
  for (const key of parsed.searchParams.keys()) {
    if (!OPTIONS.includes(key))
      throw new DatabaseUrlError(
        `The database URL has an unknown option "${key}"; the options are ${OPTIONS.map((o) => `${o}=`).join(', ')}.`,
      );
  }
  const socketPath = parsed.searchParams.get('socket') ?? undefined;
  if (!parsed.hostname && !socketPath)
    throw new DatabaseUrlError('The database URL needs a host, or ?socket=/path/to.sock for a unix socket.');
  let port = 3306;
  if (parsed.port) {
    port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new DatabaseUrlError(`The database URL's port ${parsed.port} is not a valid port.`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  return {
    host,
    port,
    socketPath,
    user: decodeURIComponent(parsed.username) || 'root',
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
    tls: parseTls(parsed.searchParams, host, socketPath),
  };
}

function parseTls(params: URLSearchParams, host: string, socketPath: string | undefined): TlsSettings | undefined {
  const given = params.get('ssl-mode');
  const files = {
    ca: params.get('ssl-ca') ?? undefined,
    cert: params.get('ssl-cert') ?? undefined,
    key: params.get('ssl-key') ?? undefined,
  };
  let mode: SslMode;
  if (given === null) {
    mode = defaultSslMode(host);
  } else {
    const normalised = given.toLowerCase().replace(/_/g, '-');
    if (!(SSL_MODES as readonly string[]).includes(normalised)) {
      throw new DatabaseUrlError(`The database URL's ssl-mode "${given}" is not one of ${SSL_MODES.join(', ')}.`);
    }
    mode = normalised as SslMode;
  }
  if (socketPath) {
    // A unix socket never leaves the machine; asking to verify a certificate over one is a mistake worth saying.
    if (given !== null && mode !== 'disabled' && mode !== 'preferred') {
      throw new DatabaseUrlError(
        `The database URL asks for ssl-mode=${mode} over a unix socket, which is local and never uses TLS; drop ssl-mode or connect to a TCP host.`,
      );
    }
    return undefined;
  }
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new DatabaseUrlError(
      'The database URL gives ssl-cert without ssl-key or the other way round; a client certificate needs both.',
    );
  }
  if (mode === 'disabled' && (files.ca || files.cert)) {
    throw new DatabaseUrlError(
      'The database URL says ssl-mode=disabled but also gives certificate files; remove one or the other.',
    );
  }
  for (const [option, file] of Object.entries(files)) {
    if (file === undefined) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (cause) {
      throw new DatabaseUrlError(
        `The database URL's ssl-${option} file ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); give the path of a PEM file.`,
        { cause },
      );
    }
  }
  return { mode, ...files, explicit: given !== null };
}

export function formatDatabaseUrl(target: DatabaseTarget, options: { withPassword: boolean }): string {
  const auth =
    encodeURIComponent(target.user) +
    (target.password ? `:${options.withPassword ? encodeURIComponent(target.password) : '***'}` : '');
  if (target.socketPath) return `mysql://${auth}@localhost/${target.database}?socket=${encodeURI(target.socketPath)}`;
  const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const params = new URLSearchParams();
  const tls = target.tls;
  if (tls?.explicit) params.set('ssl-mode', tls.mode);
  if (tls?.ca) params.set('ssl-ca', tls.ca);
  if (tls?.cert) params.set('ssl-cert', tls.cert);
  if (tls?.key) params.set('ssl-key', tls.key);
  const query = params.size > 0 ? `?${params.toString()}` : '';
  return `mysql://${auth}@${host}:${target.port}/${target.database}${query}`;
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
