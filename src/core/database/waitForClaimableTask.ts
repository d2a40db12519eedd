import { createHash } from 'node:crypto';
import { TaskmanError } from '../errors';
import { claimableCondition } from './lifecycle';
import type { CommandQueryable } from './queryable';
import type { Database } from './connection';
import type { TableNames } from './tableNames';

export interface ClaimableWaitRequest {
  schedulerId: string;
  /** The applications (and versions) this scheduler has free slots for. */
  applications: { name: string; version: string }[];
  /**
   * How often the database looks again while nothing is claimable: every `idleMs / 50` ms, where
   * `idleMs` grows from `idleMs` at the call through the wait, kept between `fastestMs` and
   * `slowestMs`. A constant pace is `fastestMs = slowestMs`.
   */
  pace: { fastestMs: number; slowestMs: number; idleMs: number };
  /** The longest the call lasts when nothing becomes claimable. */
  maxWaitMs: number;
}

/**
 * Waits inside the database until one of `applications` has a claimable task. Resolves with that
 * application's name, null when `maxWaitMs` passed first, or undefined when `signal` ended the
 * wait (the statement is killed, see Database.interruptibleCall).
 *
 * Why a loop in a stored procedure:
 *
 * - MySQL has no LISTEN/NOTIFY, and a task submitted on another host must still start within
 *   milliseconds. Polling from the client at that rate costs a round trip, a parse and a
 *   `Questions` count per look: 100 looks a second per idle scheduler. The procedure
 *   (waitProcedure below) looks with the claim's own condition, sleeps a little with SLEEP()
 *   and looks again, all inside one CALL: the client sends one statement per `maxWaitMs` (the
 *   poll interval, 300 ms by default, up to 10 s while idle: DatabaseWake).
 *
 * - A quick pace costs the server CPU for every waiting scheduler, so the pace follows the time
 *   since tasks last came or went (idle ms / 50) and keeps slowing down during the wait: every
 *   2 ms right after, when the next task is most likely, every second after 50 s (DatabaseWake).
 *
 * - The alternatives (KILL of the waiters' SLEEP, GET_LOCK) need more than the database offers
 *   every user. What each pace costs, and why those were not kept: docs/design.md, "Waking up".
 *
 * - Each statement in the procedure runs in its own autocommit transaction, so each look sees
 *   tasks committed since the last one, and NOW(6) is read per look, so a task that becomes due
 *   (`run_after`) during the wait ends it too.
 */
/** The wait's client-side deadline is its longest wait plus this: a cut-off server never holds a scheduler. */
const CALL_DEADLINE_MARGIN_MS = 5_000;

export async function waitForClaimableTask(
  db: Database,
  request: ClaimableWaitRequest,
  signal: AbortSignal,
): Promise<string | null | undefined> {
  const { fastestMs, slowestMs, idleMs } = request.pace;
  const rows = await db.interruptibleCall<{ application: string | null }>(
    `CALL \`${waitProcedure(db.tables).name}\`(?, ?, ?, ?, ?, ?)`,
    [
      JSON.stringify(request.applications.map((app) => [app.name, app.version])),
      request.schedulerId,
      Math.max(1, Math.round(fastestMs)),
      Math.max(1, Math.round(Math.max(fastestMs, slowestMs))),
      Math.max(0, Math.round(idleMs)),
      Math.max(0, Math.round(request.maxWaitMs)),
    ],
    signal,
    request.maxWaitMs + CALL_DEADLINE_MARGIN_MS,
  );
  if (rows === undefined) return undefined;
  return rows[0]?.application ?? null;
}

/**
 * The procedure, named after a hash of its text: a Taskman whose claim condition differs creates
 * and calls its own, so two versions running side by side during an upgrade never replace each
 * other's. Its arguments: the applications as JSON `[[name, version], ...]`, the scheduler id, the
 * fastest and slowest pace, the idle time at the call, and how long to wait at most (ms); its
 * result: the first application with a claimable task, or NULL.
 */
export function waitProcedure(t: TableNames): { name: string; create: string } {
  // The JSON is read per look rather than into variables: variables and parameters take the
  // database's default character set unless told, and a latin1 default would reject a version
  // written in another script. The text is compared in the task table's own collation.
  const application = (field: 0 | 1) => `JSON_UNQUOTE(JSON_EXTRACT(p_applications, CONCAT('$[', i, '][${field}]')))`;
  const body = `(IN p_applications LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, IN p_scheduler_id BIGINT UNSIGNED,
                 IN p_fastest_ms INT UNSIGNED, IN p_slowest_ms INT UNSIGNED, IN p_idle_ms INT UNSIGNED, IN p_max_ms INT UNSIGNED)
     READS SQL DATA
     SQL SECURITY INVOKER
     COMMENT 'Taskman: waits until one of p_applications has a claimable task'
     BEGIN
       DECLARE n INT DEFAULT JSON_LENGTH(p_applications);
       DECLARE i INT;
       DECLARE found VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
       DECLARE started DATETIME(6) DEFAULT NOW(6);
       DECLARE deadline DATETIME(6) DEFAULT started + INTERVAL p_max_ms * 1000 MICROSECOND;
       DECLARE CONTINUE HANDLER FOR NOT FOUND SET found = NULL;
       waiting: LOOP
         SET i = 0;
         WHILE found IS NULL AND i < n DO
           -- SELECT … INTO, not SET found = (SELECT …): MariaDB reads a SET's subquery that calls
           -- NOW() with shared locks, so the wait would queue behind a claim's row locks (for the
           -- whole lock wait, behind a scheduler cut off mid-claim) and claims would skip rows it held.
           SELECT t.application INTO found FROM \`${t.task}\` t
            WHERE ${claimableCondition(t, application(0), application(1), 'p_scheduler_id')}
            ORDER BY t.priority, t.id LIMIT 1;
           SET i = i + 1;
         END WHILE;
         IF found IS NOT NULL OR NOW(6) >= deadline THEN LEAVE waiting; END IF;
         -- SLEEP() returns 1 when KILL QUERY interrupts it, and the procedure would go on.
         IF SLEEP(LEAST(p_slowest_ms, GREATEST(p_fastest_ms, (p_idle_ms + TIMESTAMPDIFF(MICROSECOND, started, NOW(6)) / 1000) / 50)) / 1000) = 1 THEN
           LEAVE waiting;
         END IF;
       END LOOP;
       SELECT found AS application;
     END`;
  const name = `${t.task}_wait_${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
  return { name, create: `CREATE PROCEDURE \`${name}\`${body}` };
}

/** Refusals that leave the scheduler polling instead of waiting in the database. */
const NOT_ALLOWED = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_PROCACCESS_DENIED_ERROR',
  'ER_BINLOG_CREATE_ROUTINE_NEED_SUPER',
  'ER_SP_ALREADY_EXISTS',
]);

/**
 * Creates this version's wait procedure unless it exists; run by migrate() under its lock. A user
 * not allowed to create routines still migrates: its schedulers say so and poll.
 */
export async function ensureWaitProcedure(connection: CommandQueryable, t: TableNames): Promise<void> {
  const procedure = waitProcedure(t);
  const existing = await connection.select(
    `SELECT 1 AS found FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = ? AND ROUTINE_TYPE = 'PROCEDURE'`,
    [procedure.name],
  );
  if (existing.length > 0) return;
  try {
    await connection.command(procedure.create);
  } catch (error) {
    const code = ((error instanceof TaskmanError ? error.cause : error) as { code?: string } | undefined)?.code;
    if (!code || !NOT_ALLOWED.has(code)) throw error;
  }
}
