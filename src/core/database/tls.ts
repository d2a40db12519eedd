import * as fs from 'node:fs';
import * as net from 'node:net';
import { DatabaseUrlError } from '../errors';
import { type DatabaseTarget, defaultSslMode, type TlsSettings } from './url';

/** mysql2's `ssl` option. */
export interface DriverSsl {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  verifyIdentity: boolean;
}

/** The TLS a target gets: its own settings, else the default for its host; none over a unix socket. */
export function tlsOf(target: DatabaseTarget): TlsSettings | undefined {
  if (target.socketPath) return undefined;
  return target.tls ?? { mode: defaultSslMode(target.host), explicit: false };
}

/**
 * The driver's `ssl` option for a target, undefined for plain TCP. `preferred` starts with TLS
 * (certificate not checked) and Database falls back to plain TCP when the server has none, as the
 * `mysql` client does. The files are read here, so a file that went away since the URL was parsed
 * gets the same clear error.
 */
export function driverSsl(target: DatabaseTarget, options: { plain?: boolean } = {}): DriverSsl | undefined {
  const tls = tlsOf(target);
  if (!tls || tls.mode === 'disabled' || options.plain) return undefined;
  const verify = tls.mode === 'verify-ca' || tls.mode === 'verify-identity';
  return {
    ca: read(tls.ca, 'ssl-ca'),
    cert: read(tls.cert, 'ssl-cert'),
    key: read(tls.key, 'ssl-key'),
    rejectUnauthorized: verify,
    // For an IP address the driver would check the name "localhost"; Database checks the address.
    verifyIdentity: tls.mode === 'verify-identity' && net.isIP(target.host) === 0,
  };
}

function read(file: string | undefined, option: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new DatabaseUrlError(
      `The database URL's ${option} file ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); give the path of a PEM file.`,
      { cause },
    );
  }
}
