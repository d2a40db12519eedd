import * as mysql from 'mysql2/promise';
import { DatabaseConnectionError, DatabaseError, errorMessage, InvalidInputError, TaskmanError } from '../errors';
import { Logger, silentLogger } from '../logger';
import { backoffDelay, sleep } from '../timing';
import { DatabaseTarget, describeTarget } from './url';

export type Row = Record<string, unknown>;
export type Value = string | number | boolean | null | Date | Buffer | Value[];

/** What a statement that changes rows reports. */
export interface WriteResult {
  affectedRows: number;
  insertId: number | string;
}

/** The statements a module can run: the pool itself, or one transaction's connection. */
export interface Queryable {
  select<T extends Row = Row>(sql: string, values?: Value[]): Promise<T[]>;
  write(sql: string, values?: Value[]): Promise<WriteResult>;
}

export interface TableNames {
  task: string;
  scheduler: string;
  migration: string;
}

const TABLE_PREFIX = /^[A-Za-z0-9_]{0,32}$/;

export function tableNames(prefix: string): TableNames {
  if (!TABLE_PREFIX.test(prefix)) {
    throw new InvalidInputError(`The table prefix "${prefix}" must be at most 32 letters, digits or underscores.`);
  }
  return { task: `${prefix}task`, scheduler: `${prefix}scheduler`, migration: `${prefix}migration` };
}

/** Errors after which the same statement can succeed once the server is back. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOENT',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'ER_CLIENT_INTERACTION_TIMEOUT',
]);
const ACCESS_DENIED_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR']);

export function isTransientDatabaseError(error: unknown): boolean {
  if (error instanceof DatabaseConnectionError) return error.code === 'DATABASE_UNAVAILABLE';
  const cause = error instanceof TaskmanError ? error.cause : error;
  const code = (cause as { code?: string } | undefined)?.code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  // mysql2 reports a closed pool connection in the message only.
  return /closed state|Connection lost|server has gone away|Pool is closed/i.test(errorMessage(cause));
}

/**
 * A pool of connections to one MySQL/MariaDB database. Every session runs in UTC so that DATETIME
 * values and NOW(6) mean the same instant to every host; all time comparisons use NOW(6).
 */
export class Database implements Queryable {
  readonly tables: TableNames;
  readonly target: DatabaseTarget;
  private readonly pool: mysql.Pool;
  private readonly logger: Logger;
  private closed = false;

  constructor(target: DatabaseTarget, options: { tablePrefix?: string; logger?: Logger; connectionLimit?: number } = {}) {
    this.target = target;
    this.tables = tableNames(options.tablePrefix ?? 'taskman_');
    this.logger = options.logger ?? silentLogger;
    this.pool = mysql.createPool({
      host: target.socketPath ? undefined : target.host,
      port: target.socketPath ? undefined : target.port,
      socketPath: target.socketPath,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      connectionLimit: options.connectionLimit ?? 8,
      maxIdle: 2,
      idleTimeout: 30_000,
      connectTimeout: 5_000,
      enableKeepAlive: true,
      // The driver would capture a stack on every call (about a twentieth of a busy scheduler's
      // CPU); wrap() builds our error where the call was awaited, so no call site is lost.
      trace: false,
    });
    this.pool.on('connection', (connection) => {
      // Queued ahead of any statement the pool hands this connection.
      (connection as unknown as { query(sql: string): void }).query("SET time_zone = '+00:00'");
    });
  }

  describe(): string {
    return describeTarget(this.target);
  }

  /** Connects once, checking credentials and reachability; retries transient failures with backoff. */
  async ping(options: { retries?: number; onRetry?: (error: TaskmanError, attempt: number, delayMs: number) => void } = {}): Promise<void> {
    const retries = options.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.select('SELECT 1 AS ok');
        return;
      } catch (error) {
        const wrapped = error as TaskmanError;
        if (attempt >= retries || !isTransientDatabaseError(wrapped)) throw wrapped;
        const delay = backoffDelay(attempt);
        options.onRetry?.(wrapped, attempt + 1, delay);
        await sleep(delay);
      }
    }
  }

  async select<T extends Row = Row>(sql: string, values: Value[] = []): Promise<T[]> {
    try {
      const [rows] = await this.pool.execute(sql, values);
      return rows as T[];
    } catch (error) {
      throw this.wrap(error);
    }
  }

  async write(sql: string, values: Value[] = []): Promise<WriteResult> {
    try {
      const [result] = await this.pool.execute(sql, values);
      return result as mysql.ResultSetHeader;
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Runs DDL or statements the binary protocol cannot prepare. Values still bound. */
  async command(sql: string, values: Value[] = []): Promise<void> {
    try {
      await this.pool.query(sql, values);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /**
   * Runs `body` in one transaction on one connection. A deadlock or lock-wait timeout rolls back
   * and runs the body again (up to 5 times): InnoDB may pick any of two racing claims as victim.
   */
  async transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let connection: mysql.PoolConnection;
      try {
        connection = await this.pool.getConnection();
      } catch (error) {
        throw this.wrap(error);
      }
      const tx = this.transactionQueryable(connection);
      try {
        await connection.query('START TRANSACTION');
        const result = await body(tx);
        await connection.query('COMMIT');
        connection.release();
        return result;
      } catch (error) {
        await connection.query('ROLLBACK').then(
          () => connection.release(),
          () => connection.destroy(),
        );
        const code = ((error instanceof TaskmanError ? error.cause : error) as { code?: string })?.code;
        if ((code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') && attempt < 5) continue;
        throw error instanceof TaskmanError ? error : this.wrap(error);
      }
    }
  }

  /** Holds a named server lock (GET_LOCK) on one connection while `body` runs. */
  async withNamedLock<T>(name: string, timeoutSeconds: number, body: (connection: Queryable & { command(sql: string, values?: Value[]): Promise<void> }) => Promise<T>): Promise<T> {
    let connection: mysql.PoolConnection;
    try {
      connection = await this.pool.getConnection();
    } catch (error) {
      throw this.wrap(error);
    }
    try {
      const [rows] = await connection.query('SELECT GET_LOCK(?, ?) AS got', [name, timeoutSeconds]);
      if ((rows as Row[])[0]?.got !== 1) throw new DatabaseError(`Timed out after ${timeoutSeconds}s waiting for the lock "${name}" held by another Taskman process.`);
      try {
        const queryable = this.transactionQueryable(connection);
        return await body({
          ...queryable,
          command: async (sql, values = []) => {
            try {
              await connection.query(sql, values);
            } catch (error) {
              throw this.wrap(error);
            }
          },
        });
      } finally {
        await connection.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
      }
    } catch (error) {
      throw error instanceof TaskmanError ? error : this.wrap(error);
    } finally {
      connection.release();
    }
  }

  /**
   * Runs one long statement (a CALL) on a connection of its own and returns its first result set,
   * or undefined if `signal` aborted it first. The abort sends KILL QUERY from another connection
   * (a user may always kill its own statements); the killed connection is then closed, never
   * returned to the pool, so a KILL that arrives after the statement ended cannot interrupt
   * another statement that the pool handed the same connection.
   */
  async interruptibleCall<T extends Row = Row>(sql: string, values: Value[], signal: AbortSignal): Promise<T[] | undefined> {
    if (signal.aborted) return undefined;
    let connection: mysql.PoolConnection;
    try {
      connection = await this.pool.getConnection();
    } catch (error) {
      throw this.wrap(error);
    }
    let killed = false;
    const kill = () => {
      killed = true;
      this.pool.query('KILL QUERY ?', [connection.threadId]).catch((error) => this.logger.debug(`KILL QUERY ${connection.threadId}: ${errorMessage(error)}`));
    };
    signal.addEventListener('abort', kill, { once: true });
    try {
      const [results] = await connection.query(sql, values);
      return killed ? undefined : ((results as unknown[])[0] as T[]);
    } catch (error) {
      if (killed) return undefined;
      throw this.wrap(error);
    } finally {
      signal.removeEventListener('abort', kill);
      if (killed) connection.destroy();
      else connection.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch((error) => this.logger.debug(`closing the pool: ${errorMessage(error)}`));
  }

  private transactionQueryable(connection: mysql.PoolConnection): Queryable {
    return {
      select: async <T extends Row>(sql: string, values: Value[] = []) => {
        try {
          const [rows] = await connection.execute(sql, values);
          return rows as T[];
        } catch (error) {
          throw this.wrap(error);
        }
      },
      write: async (sql: string, values: Value[] = []) => {
        try {
          const [result] = await connection.execute(sql, values);
          return result as mysql.ResultSetHeader;
        } catch (error) {
          throw this.wrap(error);
        }
      },
    };
  }

  /** Turns a driver error into a TaskmanError whose message names the server but never the password. */
  wrap(error: unknown): TaskmanError {
    if (error instanceof TaskmanError) return error;
    const code = (error as { code?: string }).code ?? '';
    const where = this.describe();
    if (ACCESS_DENIED_CODES.has(code)) {
      return new DatabaseConnectionError('DATABASE_ACCESS_DENIED', `MySQL at ${where} refused the login: ${stripPassword(errorMessage(error), this.target.password)}. Check the user and password.`, { cause: error });
    }
    if (code === 'ER_BAD_DB_ERROR') {
      return new DatabaseConnectionError('DATABASE_ACCESS_DENIED', `MySQL at ${where}: the database does not exist. Create it (CREATE DATABASE \`${this.target.database}\`) or fix the URL.`, { cause: error });
    }
    if (isTransientDatabaseError(error)) {
      return new DatabaseConnectionError('DATABASE_UNAVAILABLE', `Cannot reach MySQL at ${where}: ${stripPassword(errorMessage(error), this.target.password)} (${code || 'no code'}). Is the server running?`, { cause: error });
    }
    return new DatabaseError(`MySQL at ${where} failed: ${stripPassword(errorMessage(error), this.target.password)}`, { cause: error });
  }
}

function stripPassword(message: string, password: string | undefined): string {
  return password ? message.split(password).join('***') : message;
}
