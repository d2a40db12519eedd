import { SchemaTooNewError } from '../errors';
import type { Database } from './connection';
import type { TableNames } from './tableNames';
import { ensureLockTable, withLease } from './leaseLock';
import { ensureWaitProcedure } from './waitForClaimableTask';

export interface Migration {
  version: number;
  name: string;
  statements(t: TableNames): string[];
}

/**
 * The schema, one entry per version, never edited once released. Times are DATETIME(6) written
 * from NOW(6) in UTC sessions; JSON is stored as LONGTEXT because MariaDB's JSON is an alias of it
 * and MySQL's binary JSON re-orders keys; Taskman parses and validates JSON itself.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks and schedulers',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS \`${t.task}\` (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        application VARCHAR(128) NOT NULL,
        task VARCHAR(128) NOT NULL,
        payload LONGTEXT NOT NULL,
        idempotency_key VARCHAR(191) NULL,
        active_key VARCHAR(191) NULL COMMENT 'idempotency_key while the task has not ended, else NULL',
        state ENUM('pending','running','succeeded','failed','aborted','lost','expired') NOT NULL DEFAULT 'pending',
        priority INT NOT NULL DEFAULT 0,
        version VARCHAR(128) NULL COMMENT 'only a scheduler running this application version may claim it',
        ran_version VARCHAR(128) NULL,
        run_after DATETIME(6) NOT NULL,
        start_before DATETIME(6) NULL,
        timeout_ms BIGINT UNSIGNED NULL,
        attempt INT UNSIGNED NOT NULL DEFAULT 0,
        scheduler_id BIGINT UNSIGNED NULL,
        progress_percent DOUBLE NULL,
        progress_message VARCHAR(1024) NULL,
        result LONGTEXT NULL,
        error LONGTEXT NULL,
        logs MEDIUMTEXT NULL,
        abort_requested_at DATETIME(6) NULL,
        abort_reason VARCHAR(1024) NULL,
        rerun_of BIGINT UNSIGNED NULL,
        created_at DATETIME(6) NOT NULL,
        claimed_at DATETIME(6) NULL,
        started_at DATETIME(6) NULL,
        ended_at DATETIME(6) NULL,
        updated_at DATETIME(6) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY active_key (application, active_key),
        KEY claim_order (state, application, priority, id),
        KEY by_scheduler (scheduler_id, state),
        KEY by_updated (updated_at),
        KEY by_ended (ended_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS \`${t.scheduler}\` (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        host VARCHAR(255) NOT NULL,
        pid INT UNSIGNED NOT NULL,
        applications TEXT NOT NULL COMMENT 'JSON array of {name, version}',
        concurrency INT UNSIGNED NOT NULL,
        running INT UNSIGNED NOT NULL DEFAULT 0,
        started_at DATETIME(6) NOT NULL,
        heartbeat_at DATETIME(6) NOT NULL,
        PRIMARY KEY (id),
        KEY by_heartbeat (heartbeat_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 2,
    name: 'tasks run under a debugger by one scheduler',
    statements: (t) => [
      `ALTER TABLE \`${t.task}\` ADD COLUMN debug_scheduler_id BIGINT UNSIGNED NULL
         COMMENT 'run under the inspector, and claimable only by this scheduler' AFTER scheduler_id`,
    ],
  },
  {
    version: 3,
    name: 'tasks by the scheduler debugging them',
    // A sweep and a deregistration end the pending tasks a gone scheduler was to debug; without
    // this index that UPDATE read the whole table, under every sweep.
    statements: (t) => [`ALTER TABLE \`${t.task}\` ADD KEY by_debug_scheduler (debug_scheduler_id, state)`],
  },
  {
    version: 4,
    name: 'reruns found from the task they rerun',
    statements: (t) => [`ALTER TABLE \`${t.task}\` ADD KEY by_rerun_of (rerun_of)`],
  },
  {
    version: 5,
    name: 'ended tasks with what the dashboard reads of them',
    // The dashboard's statistics (taskStatistics.ts) read a window of ended tasks from this index
    // alone instead of fetching each row; it also serves what by_ended did (purge), so it
    // replaces it, in one statement.
    statements: (t) => [
      `ALTER TABLE \`${t.task}\` ADD KEY by_ended_stats (ended_at, application, task, state, started_at, run_after, created_at), DROP KEY by_ended`,
    ],
  },
  {
    version: 6,
    name: 'updated_at kept by the schema',
    // updated_at follows from any change of the row, so the schema keeps it instead of every
    // statement. Both MariaDB 10.6+ and MySQL 8 auto-update a DATETIME(6) (docs/design.md, "The
    // tables"); statements of the previous version, which still set it, keep working. Metadata
    // only on MariaDB (INSTANT).
    statements: (t) => [
      `ALTER TABLE \`${t.task}\`
         MODIFY COLUMN updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)`,
    ],
  },
  {
    version: 7,
    name: 'paused applications',
    // A row while an application is paused: no scheduler claims its tasks (the claim's condition,
    // lifecycle/claim.ts). Deleted on resume, so the claim's look finds nothing in the usual case.
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS \`${t.pause}\` (
        application VARCHAR(128) NOT NULL,
        paused_at DATETIME(6) NOT NULL,
        reason VARCHAR(1024) NULL,
        PRIMARY KEY (application)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 8,
    name: 'retries',
    // The retry options as submitted, or stamped by the started mark from the config's
    // taskOptions (NULL: neither said), so that whoever settles a lost task can tell whether it may
    // run again; and one row per earlier attempt of a retried task. Columns added INSTANT.
    statements: (t) => [
      `ALTER TABLE \`${t.task}\`
         ADD COLUMN retries INT UNSIGNED NULL COMMENT 'attempts after the first' AFTER attempt,
         ADD COLUMN retry_delay_ms BIGINT UNSIGNED NULL AFTER retries,
         ADD COLUMN retry_max_delay_ms BIGINT UNSIGNED NULL AFTER retry_delay_ms,
         ADD COLUMN idempotent BOOLEAN NULL COMMENT 'a lost run may be retried' AFTER retry_max_delay_ms`,
      `CREATE TABLE IF NOT EXISTS \`${t.attempt}\` (
        task_id BIGINT UNSIGNED NOT NULL,
        attempt INT UNSIGNED NOT NULL,
        state ENUM('failed','lost') NOT NULL,
        error LONGTEXT NULL,
        logs MEDIUMTEXT NULL,
        scheduler_id BIGINT UNSIGNED NULL,
        ran_version VARCHAR(128) NULL,
        claimed_at DATETIME(6) NULL,
        started_at DATETIME(6) NULL,
        ended_at DATETIME(6) NOT NULL,
        retry_at DATETIME(6) NOT NULL COMMENT 'when the next attempt became due',
        PRIMARY KEY (task_id, attempt)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 9,
    name: 'schedule ticks',
    // One row per tick of a schedule made into a task: its primary key is what lets exactly one
    // of the schedulers racing for a tick make it (database/scheduleTicks.ts).
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS \`${t.scheduleTick}\` (
        application VARCHAR(128) NOT NULL,
        schedule VARCHAR(128) NOT NULL,
        tick_at DATETIME(6) NOT NULL,
        task_id BIGINT UNSIGNED NOT NULL,
        created_at DATETIME(6) NOT NULL,
        PRIMARY KEY (application, schedule, tick_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 10,
    name: 'concurrency keys',
    // A task's key, the slot (0 … limit - 1) its claim took and the limit it took it under. `held_slot` is the slot while the
    // task runs, NULL otherwise: derived in the schema, so every way a task stops running frees
    // its slot, and the unique key lets no two running tasks of one key hold one slot, on one
    // server or across Galera nodes (database/lifecycle/claimKeys.ts). VIRTUAL: added in place.
    statements: (t) => [
      `ALTER TABLE \`${t.task}\`
         ADD COLUMN concurrency_key VARCHAR(191) NULL AFTER idempotent,
         ADD COLUMN concurrency_slot INT UNSIGNED NULL AFTER concurrency_key,
         ADD COLUMN concurrency_limit INT UNSIGNED NULL COMMENT 'the limit its claim applied' AFTER concurrency_slot,
         ADD COLUMN held_slot INT UNSIGNED AS (IF(state = 'running', concurrency_slot, NULL)) VIRTUAL AFTER concurrency_limit`,
      `ALTER TABLE \`${t.task}\`
         ADD UNIQUE KEY held_slot (application, concurrency_key, held_slot),
         ADD KEY running_keys (application, state, concurrency_key)`,
    ],
  },
  {
    version: 11,
    name: 'dependencies',
    // A task may run after others: `waiting` until they all succeeded, `skipped` if one ended
    // otherwise (lifecycle/dependencies.ts). The states are added at the end of the ENUM, in
    // place; one row per dependency, read both ways.
    statements: (t) => [
      `ALTER TABLE \`${t.task}\`
         MODIFY COLUMN state ENUM('pending','running','succeeded','failed','aborted','lost','expired','waiting','skipped') NOT NULL DEFAULT 'pending'`,
      `CREATE TABLE IF NOT EXISTS \`${t.dependency}\` (
        task_id BIGINT UNSIGNED NOT NULL,
        depends_on BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (task_id, depends_on),
        KEY dependents (depends_on)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 12,
    name: 'children',
    // The task that submitted it from its code (`ctx.submit`), for `show`, the tree and an abort
    // with its children. A child's key is unique under its parent for good, not only while it
    // runs (as `active_key`): a submit retried after a lost reply, once the child already ended,
    // meets it (scheduler/childSubmitter.ts). Added INSTANT; the index added in place.
    statements: (t) => [
      `ALTER TABLE \`${t.task}\` ADD COLUMN parent_id BIGINT UNSIGNED NULL AFTER rerun_of`,
      `ALTER TABLE \`${t.task}\` ADD UNIQUE KEY children (parent_id, idempotency_key)`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Brings the schema up to date. Several processes may start at once: a lease on a row of the lock
 * table serialises them (leaseLock.ts: it works on Galera, where GET_LOCK does not), because MySQL
 * commits DDL implicitly and a transaction cannot fence a CREATE TABLE.
 */
export async function migrate(db: Database): Promise<{ from: number; to: number }> {
  const t = db.tables;
  await ensureLockTable(db);
  return withLease(db, `migrate:${t.migration}`, 60, async () => {
    await db.command(
      `CREATE TABLE IF NOT EXISTS \`${t.migration}\` (
        version INT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        applied_at DATETIME(6) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
    const rows = await db.select<{ version: number | null }>(`SELECT MAX(version) AS version FROM \`${t.migration}\``);
    const from = Number(rows[0]?.version ?? 0);
    if (from > SCHEMA_VERSION) throw new SchemaTooNewError(from, SCHEMA_VERSION);
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      for (const statement of migration.statements(t)) await db.command(statement);
      await db.write(`INSERT INTO \`${t.migration}\` (version, name, applied_at) VALUES (?, ?, NOW(6))`, [
        migration.version,
        migration.name,
      ]);
    }
    await ensureWaitProcedure(db, t);
    return { from, to: SCHEMA_VERSION };
  });
}
