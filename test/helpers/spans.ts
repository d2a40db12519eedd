import type * as mysql from 'mysql2/promise';

/**
 * The table the fixture task `span` (test/fixtures/apps/basic/tasks.js) records its runs in, on
 * the database clock: when its body started and ended, and how often it ran (a second run of one
 * task fails on the primary key). Tests read overlaps and order from it.
 */
export function createSpansTable(sql: mysql.Connection): Promise<unknown> {
  return sql.query(
    'CREATE TABLE spans (task_id BIGINT PRIMARY KEY, started_at DATETIME(6) NOT NULL, ended_at DATETIME(6) NULL, runs INT NOT NULL DEFAULT 0)',
  );
}
