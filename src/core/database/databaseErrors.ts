import { DatabaseConflictError, DatabaseConnectionError, DatabaseError, errorMessage, TaskmanError } from '../errors';

/**
 * What a driver error means for Taskman, in one place: whether the same statement can succeed
 * later, and which of our named errors says so.
 *
 * - `unavailable`: no answer, or the connection ended (refused, reset, timed out by our own
 *   statement deadline, killed by the server, a Galera node outside the primary component). Retried
 *   with backoff; the scheduler's health says "database unavailable" once.
 * - `conflict`: the server answered and rolled back because of another session (a deadlock, a
 *   Galera certification conflict, a lock held longer than `innodb_lock_wait_timeout`, NOWAIT).
 *   Retried at once or at the next poll; never reported as an unreachable server.
 * - `tls`: the TLS the URL asks for cannot be set up (the certificate does not verify, the server
 *   has no TLS, or it requires TLS and the URL disabled it). Not retried: the URL must change.
 */
export type DatabaseErrorKind = 'unavailable' | 'conflict' | 'tls' | 'access' | 'other';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_NET_READ_INTERRUPTED',
  // Galera: this node is not (yet, or no longer) part of the primary component.
  'ER_UNKNOWN_COM_ERROR',
]);
const CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_NOWAIT', 'ER_CHECKREAD']);
const ACCESS_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_BAD_DB_ERROR',
]);
/** Node's TLS verification failures, the driver's "no TLS on the server", the server's "TLS required". */
const TLS_CODES = new Set([
  'HANDSHAKE_NO_SSL_SUPPORT',
  'HANDSHAKE_SSL_ERROR',
  'ER_SECURE_TRANSPORT_REQUIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_OSSL_PEM_NO_START_LINE',
]);

/**
 * The code a driver or Node error carries (`ER_LOCK_DEADLOCK`, `ECONNRESET`…), if it has one. Read
 * as is: a TaskmanError answers with its own code, so unwrap it first to reach the driver's.
 */
export function driverErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** The driver's error: a TaskmanError built from one keeps it as its cause. */
function driverErrorOf(error: unknown): unknown {
  return error instanceof TaskmanError ? error.cause : error;
}

/** The driver's code under any wrapping, '' for none (it is shown in messages and looked up in the sets above). */
function driverCode(error: unknown): string {
  return driverErrorCode(driverErrorOf(error)) ?? '';
}

export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  if (error instanceof DatabaseConflictError) return 'conflict';
  if (error instanceof DatabaseConnectionError) {
    return error.code === 'DATABASE_UNAVAILABLE'
      ? 'unavailable'
      : error.code === 'DATABASE_TLS_FAILED'
        ? 'tls'
        : 'access';
  }
  const code = driverCode(error);
  const message = errorMessage(driverErrorOf(error));
  if (TLS_CODES.has(code) || /insecure transport/i.test(message)) return 'tls';
  if (ACCESS_CODES.has(code)) return 'access';
  if (CONFLICT_CODES.has(code)) return 'conflict';
  if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
  // The driver reports a closed pool connection in the message only; Galera's "not ready" too.
  if (/closed state|Connection lost|server has gone away|Pool is closed|WSREP has not yet prepared/i.test(message))
    return 'unavailable';
  return 'other';
}

/** Errors after which the same statement can succeed: the server is back, or the other session is done. */
export function isTransientDatabaseError(error: unknown): boolean {
  const kind = classifyDatabaseError(error);
  return kind === 'unavailable' || kind === 'conflict';
}

/** An error from the database: every driver error reaches Taskman wrapped as one of these (wrapDatabaseError). */
export function isDatabaseError(error: unknown): error is TaskmanError {
  return (
    error instanceof DatabaseError || error instanceof DatabaseConnectionError || error instanceof DatabaseConflictError
  );
}

/** A conflict: the server answered; no reason to say it is unreachable. */
/** A unique key refused the write (an idempotency key, a schedule's tick, a concurrency slot). */
export function isDuplicateKey(error: unknown): boolean {
  const cause = error instanceof TaskmanError ? error.cause : error;
  return (cause as { code?: string })?.code === 'ER_DUP_ENTRY';
}

export function isConflict(error: unknown): boolean {
  return classifyDatabaseError(error) === 'conflict';
}

/** The connection must not be reused: it timed out mid-statement, or the driver gave up on it. */
export function breaksConnection(error: unknown): boolean {
  const cause = driverErrorOf(error);
  return (cause as { fatal?: boolean } | undefined)?.fatal === true || classifyDatabaseError(error) === 'unavailable';
}

export interface ServerDescription {
  /** Where, for messages: never the password. */
  where: string;
  database: string;
  password: string | undefined;
  /** The server is a Galera node (wsrep_on): a deadlock there is most often a certification conflict. */
  galera: boolean;
  /** The connection was made without TLS: a refused login may be the server requiring it (MariaDB says only "access denied"). */
  plain: boolean;
}

/** Turns a driver error into a TaskmanError whose message names the server but never the password. */
export function wrapDatabaseError(error: unknown, server: ServerDescription): TaskmanError {
  if (error instanceof TaskmanError) return error;
  const code = driverCode(error);
  const { where } = server;
  const detail = `${stripPassword(errorMessage(error), server.password)} (${code || 'no code'})`;
  switch (classifyDatabaseError(error)) {
    case 'access':
      if (code === 'ER_BAD_DB_ERROR') {
        return new DatabaseConnectionError(
          'DATABASE_ACCESS_DENIED',
          `MySQL at ${where}: the database does not exist. Create it (CREATE DATABASE \`${server.database}\`) or fix the URL.`,
          { cause: error },
        );
      }
      return new DatabaseConnectionError(
        'DATABASE_ACCESS_DENIED',
        `MySQL at ${where} refused the login: ${detail}. Check the user and password${server.plain ? ', and whether the server requires TLS (require_secure_transport: connect with ssl-mode=verify-identity or required)' : ''}.`,
        { cause: error },
      );
    case 'tls':
      return new DatabaseConnectionError('DATABASE_TLS_FAILED', tlsMessage(code, where, detail), { cause: error });
    case 'conflict':
      if (code === 'ER_LOCK_DEADLOCK') {
        return server.galera
          ? new DatabaseConflictError(
              'certification',
              `MySQL at ${where} rolled back a transaction that conflicted with one committed on another Galera node (certification conflict) or a deadlock; it is retried: ${detail}`,
              { cause: error },
            )
          : new DatabaseConflictError(
              'deadlock',
              `MySQL at ${where} rolled back a transaction caught in a deadlock with another session; it is retried: ${detail}`,
              { cause: error },
            );
      }
      return new DatabaseConflictError(
        'locked',
        `MySQL at ${where}: rows this statement needs are locked by another session (possibly a scheduler cut off mid-transaction, which the server ends within seconds); try again: ${detail}`,
        { cause: error },
      );
    case 'unavailable':
      if (code === 'ER_UNKNOWN_COM_ERROR' || /WSREP/i.test(errorMessage(error))) {
        return new DatabaseConnectionError(
          'DATABASE_UNAVAILABLE',
          `MySQL at ${where} is a Galera node outside the cluster's primary component and refuses statements until it rejoins: ${detail}`,
          { cause: error },
        );
      }
      if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        return new DatabaseConnectionError(
          'DATABASE_UNAVAILABLE',
          `MySQL at ${where} did not answer in time (the statement's deadline passed; the connection is replaced): ${detail}`,
          { cause: error },
        );
      }
      return new DatabaseConnectionError(
        'DATABASE_UNAVAILABLE',
        `Cannot reach MySQL at ${where}: ${detail}. Is the server running?`,
        { cause: error },
      );
    default:
      return new DatabaseError(`MySQL at ${where} failed: ${detail}`, { cause: error });
  }
}

function tlsMessage(code: string, where: string, detail: string): string {
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return `MySQL at ${where} does not offer TLS, and the URL's ssl-mode requires it: enable TLS on the server, or set ssl-mode=preferred (or disabled) if the network is trusted.`;
  }
  if (code === 'ER_SECURE_TRANSPORT_REQUIRED' || /insecure transport/i.test(detail)) {
    return `MySQL at ${where} requires TLS, and the URL says ssl-mode=disabled: use ssl-mode=verify-identity (with ssl-ca=PATH for a private CA).`;
  }
  if (
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    /does not match certificate|not in the cert's altnames|not cert's CN/i.test(detail)
  ) {
    return `MySQL at ${where} presented a certificate that does not name this host (${detail}): connect by a name the certificate lists, or use ssl-mode=verify-ca.`;
  }
  return `MySQL at ${where} presented a certificate that does not verify (${detail}): give the CA that signed it with ssl-ca=PATH, or use ssl-mode=required to encrypt without verifying.`;
}

function stripPassword(message: string, password: string | undefined): string {
  return password ? message.split(password).join('***') : message;
}
