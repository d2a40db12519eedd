import * as net from 'node:net';
import * as tls from 'node:tls';
import * as mysql from 'mysql2/promise';
import { errorMessage, type TaskmanError } from '../errors';
import { type Logger, silentLogger } from '../logger';
import { backoffDelay, sleep } from '../timing';
import {
  breaksConnection,
  driverErrorCode,
  isConflict,
  isTransientDatabaseError,
  wrapDatabaseError,
} from './databaseErrors';
import { discard, giveBack, idleSinceOf, withDeadline } from './pooledConnection';
import type {
  CommandQueryable,
  Queryable,
  Row,
  StatementOptions,
  TransactionOptions,
  Value,
  WriteResult,
} from './queryable';
import { type TableNames, tableNames } from './tableNames';
import { driverSsl, tlsOf } from './tls';
import { type DatabaseTarget, describeTarget } from './url';

export { isTransientDatabaseError } from './databaseErrors';

/**
 * What every Taskman session sets, and why (docs/deployment.md, "Between hosts"). The same
 * statements work on MySQL 8 and MariaDB 10.6+, and on Galera.
 *
 * - `wait_timeout`: the server closes a session that sent nothing for this long, which ends the
 *   open transaction (and frees the row locks) of a scheduler cut off by the network. MySQL 8 has
 *   no `idle_transaction_timeout` (MariaDB only), so the whole session gets the bound; the pool
 *   closes its idle connections itself before the server would (`idleTimeout` below).
 * - `innodb_lock_wait_timeout`: a statement that meets a row another session holds waits at most
 *   this long, then fails as a conflict and is tried again later, instead of 50 s.
 * - `sql_mode` without NO_BACKSLASH_ESCAPES: the driver escapes the values of an unprepared
 *   statement (`prepare: false`) with backslashes, which that mode would read as plain text.
 * - READ COMMITTED: no gap locks, so a claim's locks never hold up another client's INSERT, and
 *   each statement of a transaction sees what others committed. Claims lock exactly the rows they
 *   take (SKIP LOCKED) and the exactly-once protocol relies on nothing else.
 */
export const SESSION_SETTINGS = { idleTimeoutSeconds: 6, lockWaitTimeoutSeconds: 3 };

/** The client-side deadline of a statement that names none. */
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
/** DDL (migrations) may rebuild a large table. */
const COMMAND_TIMEOUT_MS = 10 * 60_000;
/** Deadlocks and certification conflicts: a transaction is run again up to this many times. */
const CONFLICT_ATTEMPTS = 5;

/** A statement, prepared (the binary protocol) unless its options say otherwise. */
function send(connection: mysql.PoolConnection, sql: string, values: Value[], options: StatementOptions) {
  return options.prepare === false ? connection.query({ sql, values }) : connection.execute({ sql, values });
}

export interface DatabaseOptions {
  tablePrefix?: string;
  logger?: Logger;
  connectionLimit?: number;
  /** Client-side deadline of each statement that names none; past it the connection is replaced. */
  statementTimeoutMs?: number;
}

/**
 * A pool of connections to one MySQL/MariaDB database. Every session runs in UTC so that DATETIME
 * values and NOW(6) mean the same instant to every host; all time comparisons use NOW(6).
 *
 * No call waits forever: every statement has a client-side deadline (a connection whose statement
 * timed out is destroyed, never reused, since its reply may still arrive), connecting has one, and
 * TCP keepalive probes idle connections. What the server did with a statement whose reply was lost
 * is for the caller to resolve: every write Taskman makes is fenced and safe to repeat or reconcile.
 */
export class Database implements CommandQueryable {
  readonly tables: TableNames;
  readonly target: DatabaseTarget;
  private pool: mysql.Pool;
  private readonly logger: Logger;
  private readonly statementTimeoutMs: number;
  private readonly connectionLimit: number;
  private closed = false;
  /** ssl-mode=preferred found a server without TLS: the pool was made again without it. */
  private plain = false;
  /** Set by ping(): a deadlock on a Galera node is most often a certification conflict. */
  private galera = false;
  /** verify-identity to an IP address (see checkIdentity). */
  private readonly checkIdentityOf: boolean;
  private readonly identityChecked = new WeakSet<object>();
  private identityVerified = false;
  /** When a statement last missed its deadline (performance.now()). */
  private deadlineMissedAt = -Infinity;
  private identityFailure: Error | undefined;

  constructor(target: DatabaseTarget, options: DatabaseOptions = {}) {
    this.target = target;
    this.tables = tableNames(options.tablePrefix ?? 'taskman_');
    this.logger = options.logger ?? silentLogger;
    this.statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    this.connectionLimit = options.connectionLimit ?? 8;
    this.checkIdentityOf = tlsOf(target)?.mode === 'verify-identity' && net.isIP(target.host) !== 0;
    this.pool = this.createPool();
  }

  private createPool(): mysql.Pool {
    const target = this.target;
    const pool = mysql.createPool({
      host: target.socketPath ? undefined : target.host,
      port: target.socketPath ? undefined : target.port,
      socketPath: target.socketPath,
      user: target.user,
      password: target.password,
      database: target.database,
      ssl: driverSsl(target, { plain: this.plain }),
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      // affectedRows counts the rows a statement matched, not only those it changed: a fenced write
      // whose values equal the stored ones still says the task is ours (mysql2's default, kept on purpose).
      flags: ['FOUND_ROWS'],
      supportBigNumbers: true,
      bigNumberStrings: true,
      connectionLimit: this.connectionLimit,
      maxIdle: 2,
      // Before the server's wait_timeout closes them.
      idleTimeout: (SESSION_SETTINGS.idleTimeoutSeconds - 2) * 1000,
      connectTimeout: 5_000,
      enableKeepAlive: true,
      keepAliveInitialDelay: 5_000,
      // The driver would capture a stack on every call (about a twentieth of a busy scheduler's
      // CPU); wrap() builds our error where the call was awaited, so no call site is lost.
      trace: false,
    });
    pool.on('connection', (connection) => {
      // Queued ahead of any statement the pool hands this connection.
      const settings = `SET time_zone = '+00:00', SESSION wait_timeout = ${SESSION_SETTINGS.idleTimeoutSeconds}, SESSION innodb_lock_wait_timeout = ${SESSION_SETTINGS.lockWaitTimeoutSeconds}, SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')`;
      const core = connection as unknown as { query(sql: string, callback: (error: Error | null) => void): void };
      for (const sql of [settings, 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED']) {
        core.query(
          sql,
          (error) => error && this.logger.warn(`session setting "${sql}" refused: ${errorMessage(error)}`),
        );
      }
    });
    return pool;
  }

  describe(): string {
    return describeTarget(this.target);
  }

  /** Whether the server is a Galera node (known after ping()). */
  get isGaleraNode(): boolean {
    return this.galera;
  }

  /** Connects once, checking credentials and reachability; retries transient failures with backoff. */
  async ping(
    options: { retries?: number; onRetry?: (error: TaskmanError, attempt: number, delayMs: number) => void } = {},
  ): Promise<void> {
    const retries = options.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.select('SELECT 1 AS ok');
        const rows = await this.run((connection) => connection.query("SHOW VARIABLES LIKE 'wsrep_on'"));
        this.galera = ((rows[0] as Row[])[0]?.Value as string | undefined)?.toUpperCase() === 'ON';
        return;
      } catch (error) {
        const wrapped = this.wrap(error);
        if (attempt >= retries || !isTransientDatabaseError(wrapped)) throw wrapped;
        const delay = backoffDelay(attempt);
        options.onRetry?.(wrapped, attempt + 1, delay);
        await sleep(delay);
      }
    }
  }

  select<T extends Row = Row>(sql: string, values: Value[] = [], options: StatementOptions = {}): Promise<T[]> {
    return this.run(async (connection) => (await send(connection, sql, values, options))[0] as T[], options.timeoutMs);
  }

  write(sql: string, values: Value[] = [], options: StatementOptions = {}): Promise<WriteResult> {
    return this.run(
      async (connection) => (await send(connection, sql, values, options))[0] as mysql.ResultSetHeader,
      options.timeoutMs,
    );
  }

  /** Runs DDL or statements the binary protocol cannot prepare. Values still bound. */
  async command(sql: string, values: Value[] = [], options: StatementOptions = {}): Promise<void> {
    await this.run((connection) => connection.query({ sql, values }), options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  }

  /**
   * Runs `body` in one transaction on one connection. A deadlock or a Galera certification conflict
   * rolls back and runs the body again (up to 5 times): InnoDB may pick either of two racing claims
   * as victim, and on Galera the second of two conflicting commits fails. A lock held elsewhere for
   * longer than the session's lock wait is not retried here: the caller tries again later.
   *
   * A connection that failed mid-transaction is destroyed, not rolled back: if the server still
   * has the transaction, it rolls it back when the session ends (at once on a closed socket, within
   * `wait_timeout` when the network is cut).
   */
  async transaction<T>(body: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const timeout = options.timeoutMs ?? this.statementTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const connection = await this.acquire();
      try {
        await withDeadline(connection, connection.query('START TRANSACTION'), timeout);
        const result = await body(this.on(connection, timeout));
        await withDeadline(connection, connection.query('COMMIT'), timeout);
        giveBack(connection);
        return result;
      } catch (error) {
        if (breaksConnection(error)) discard(connection);
        else
          await withDeadline(connection, connection.query('ROLLBACK'), timeout).then(
            () => giveBack(connection),
            () => discard(connection),
          );
        const wrapped = this.wrap(error);
        if (isConflict(wrapped)) options.onConflict?.(wrapped);
        const retry =
          isConflict(wrapped) && (wrapped as { kind?: string }).kind !== 'locked' && attempt < CONFLICT_ATTEMPTS;
        if (!retry) throw wrapped;
        this.logger.debug(`transaction retried (${attempt}): ${wrapped.message}`);
        await sleep(Math.random() * 5 * attempt);
      }
    }
  }

  /**
   * Runs one long statement (a CALL) on a connection of its own and returns its first result set,
   * or undefined if `signal` aborted it first. The abort sends KILL QUERY from another connection
   * (a user may always kill its own statements); the killed connection is then closed, never
   * returned to the pool, so a KILL that arrives after the statement ended cannot interrupt
   * another statement that the pool handed the same connection. `timeoutMs` is its deadline.
   */
  async interruptibleCall<T extends Row = Row>(
    sql: string,
    values: Value[],
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<T[] | undefined> {
    if (signal.aborted) return undefined;
    const connection = await this.acquire();
    let killed = false;
    const kill = () => {
      killed = true;
      // Through run(): a connection whose KILL timed out must be destroyed, not handed out again.
      this.run((other) => other.query('KILL QUERY ?', [connection.threadId])).catch((error) =>
        this.logger.debug(`KILL QUERY ${connection.threadId}: ${errorMessage(error)}`),
      );
    };
    signal.addEventListener('abort', kill, { once: true });
    let broken = false;
    try {
      const [results] = await withDeadline(connection, connection.query(sql, values), timeoutMs);
      return killed ? undefined : ((results as unknown[])[0] as T[]);
    } catch (error) {
      broken = breaksConnection(error);
      if (killed) return undefined;
      throw this.wrap(error);
    } finally {
      signal.removeEventListener('abort', kill);
      if (killed || broken) discard(connection);
      else giveBack(connection);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch((error) => this.logger.debug(`closing the pool: ${errorMessage(error)}`));
  }

  /** A connection of the pool; with ssl-mode=preferred, falls back to plain TCP once if the server has no TLS. */
  private async acquire(): Promise<mysql.PoolConnection> {
    try {
      for (let tries = 0; ; tries++) {
        const connection = await this.pool.getConnection();
        // Idle since before a statement missed its deadline: on the same dead path, most likely
        // (half-open after a partition); replaced rather than each costing a deadline of its own.
        if (idleSinceOf(connection) < this.deadlineMissedAt && tries <= this.connectionLimit) {
          discard(connection);
          continue;
        }
        if (this.checkIdentityOf && !this.identityChecked.has(connection)) this.checkIdentity(connection);
        return connection;
      }
    } catch (error) {
      if (
        driverErrorCode(error) === 'HANDSHAKE_NO_SSL_SUPPORT' &&
        tlsOf(this.target)?.mode === 'preferred' &&
        !this.plain
      ) {
        this.logger.info(`MySQL at ${this.describe()} offers no TLS; ssl-mode=preferred connects without it`);
        this.plain = true;
        const old = this.pool;
        this.pool = this.createPool();
        void old.end().catch(() => undefined);
        return this.acquire();
      }
      throw this.wrap(error);
    }
  }

  /**
   * verify-identity to an IP address: the driver gives TLS no server name for an IP, so Node checks
   * the certificate against "localhost" instead of the address. The driver verifies the chain; the
   * address is checked here, on each new connection, before it runs anything.
   */
  private checkIdentity(connection: mysql.PoolConnection): void {
    const stream = (connection as unknown as { connection: { stream: Partial<tls.TLSSocket> } }).connection.stream;
    let failure: Error | undefined;
    if (!stream.getPeerCertificate || !stream.isSessionReused) failure = new Error('the connection is not encrypted');
    else if (stream.isSessionReused()) {
      // A resumed TLS session shows no certificate: it continues one this pool verified (the
      // driver keeps sessions per pool), unless a check of this pool ever failed.
      if (!this.identityVerified || this.identityFailure)
        failure = this.identityFailure ?? new Error('a resumed TLS session whose certificate was never checked');
    } else {
      failure = tls.checkServerIdentity(this.target.host, stream.getPeerCertificate());
      if (failure) this.identityFailure = failure;
      else this.identityVerified = true;
    }
    if (failure) {
      discard(connection);
      throw Object.assign(new Error(failure.message), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    }
    this.identityChecked.add(connection);
  }

  /** One statement on a pooled connection, within its deadline; a connection that timed out or broke is destroyed. */
  private async run<T>(
    operation: (connection: mysql.PoolConnection) => Promise<T>,
    timeoutMs = this.statementTimeoutMs,
  ): Promise<T> {
    const connection = await this.acquire();
    try {
      const result = await withDeadline(connection, operation(connection), timeoutMs);
      giveBack(connection);
      return result;
    } catch (error) {
      if (breaksConnection(error)) discard(connection);
      else giveBack(connection);
      throw this.wrap(error);
    }
  }

  /** The statements of one transaction, on its connection. */
  private on(connection: mysql.PoolConnection, timeout: number): Queryable {
    const run = async <T>(sql: string, values: Value[], options: StatementOptions): Promise<T> => {
      try {
        return (
          await withDeadline(connection, send(connection, sql, values, options), options.timeoutMs ?? timeout)
        )[0] as T;
      } catch (error) {
        throw this.wrap(error);
      }
    };
    return {
      select: <T extends Row>(sql: string, values: Value[] = [], options: StatementOptions = {}) =>
        run<T[]>(sql, values, options),
      write: (sql: string, values: Value[] = [], options: StatementOptions = {}) =>
        run<mysql.ResultSetHeader>(sql, values, options),
    };
  }

  /** Turns a driver error into a TaskmanError whose message names the server but never the password. */
  wrap(error: unknown): TaskmanError {
    if (driverErrorCode(error) === 'PROTOCOL_SEQUENCE_TIMEOUT') this.deadlineMissedAt = performance.now();
    const plain = this.plain || !driverSsl(this.target);
    return wrapDatabaseError(error, {
      where: this.describe(),
      database: this.target.database,
      password: this.target.password,
      galera: this.galera,
      plain,
    });
  }
}
