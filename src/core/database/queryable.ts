import type { TaskmanError } from '../errors';

/** What the database modules run statements through: the pool, or one transaction's connection. */

export type Row = Record<string, unknown>;
export type Value = string | number | boolean | null | Date | Buffer | Value[];

/** What a statement that changes rows reports. */
export interface WriteResult {
  affectedRows: number;
  insertId: number | string;
}

/** Per statement. */
export interface StatementOptions {
  /** Its client-side deadline, when the default does not fit. */
  timeoutMs?: number;
  /**
   * `false` for a statement whose SQL changes with its size (a batch of rows): the driver escapes
   * its values into the text it sends instead of preparing it, so that each size does not leave a
   * prepared statement on the server (which caps them: max_prepared_stmt_count).
   */
  prepare?: false;
}

export interface TransactionOptions extends StatementOptions {
  /** Told of every conflict that rolled the transaction back, those retried here included. */
  onConflict?(error: TaskmanError): void;
}

/** The statements a module can run: the pool itself, or one transaction's connection. */
export interface Queryable {
  select<T extends Row = Row>(sql: string, values?: Value[], options?: StatementOptions): Promise<T[]>;
  write(sql: string, values?: Value[], options?: StatementOptions): Promise<WriteResult>;
}

/** A Queryable that can also run DDL and statements the binary protocol cannot prepare. */
export interface CommandQueryable extends Queryable {
  command(sql: string, values?: Value[], options?: StatementOptions): Promise<void>;
}
