import type { Schedule } from '../schedules';
import type { TaskId, TaskState } from '../task';
import type { Database } from './connection';
import { isDuplicateKey } from './databaseErrors';
import { INSERT_COLUMNS, rowOf, validateSubmission } from './submitTask';

/**
 * Schedule ticks: a row per tick of a schedule made into a task, keyed by application, schedule
 * and tick time. Every scheduler serving the application tries each due tick; the primary key
 * lets exactly one succeed, with no leader and no lock held between ticks (docs/design.md,
 * "Schedules").
 */

/**
 * Makes the task of one tick. Input: the application, the schedule, the tick. Output: the new
 * task's id, or undefined when the tick was made already (by another scheduler, or by this one
 * whose reply was lost). Guarantee: the task and its tick row commit together or not at all, and
 * the tick's primary key admits one row per tick: never two tasks for a tick.
 */
export async function makeTick(
  db: Database,
  application: string,
  schedule: Schedule,
  tickAt: Date,
): Promise<TaskId | undefined> {
  const t = db.tables;
  const row = rowOf(validateSubmission({ application, task: schedule.task, payload: schedule.payload }));
  try {
    return await db.transaction(async (tx) => {
      const task = await tx.write(`INSERT INTO \`${t.task}\` (${INSERT_COLUMNS}) VALUES ${row.sql}`, row.values);
      const id = String(task.insertId);
      await tx.write(
        `INSERT INTO \`${t.scheduleTick}\` (application, schedule, tick_at, task_id, created_at) VALUES (?, ?, ?, ?, NOW(6))`,
        [application, schedule.name, tickAt, id],
      );
      return id;
    });
  } catch (error) {
    if (isDuplicateKey(error)) return undefined;
    throw error;
  }
}

export interface LatestTick {
  schedule: string;
  tickAt: Date;
  taskId: TaskId;
  /** The task's state; null once it was purged. */
  state: TaskState | null;
}

/** Each schedule's latest tick made, with its task's state. */
export async function latestTicks(db: Database, application: string): Promise<Map<string, LatestTick>> {
  const t = db.tables;
  const rows = await db.select<{ schedule: string; tick_at: Date; task_id: string; state: TaskState | null }>(
    `SELECT k.schedule, k.tick_at, k.task_id, task.state
       FROM \`${t.scheduleTick}\` k
       JOIN (SELECT schedule, MAX(tick_at) AS latest FROM \`${t.scheduleTick}\` WHERE application = ? GROUP BY schedule) l
         ON l.schedule = k.schedule AND l.latest = k.tick_at
       LEFT JOIN \`${t.task}\` task ON task.id = k.task_id
      WHERE k.application = ?`,
    [application, application],
  );
  return new Map(
    rows.map((row) => [
      row.schedule,
      { schedule: row.schedule, tickAt: row.tick_at, taskId: String(row.task_id), state: row.state ?? null },
    ]),
  );
}

/** The database's clock now: ticks are decided on it, as every time in Taskman. */
export async function databaseNow(db: Database): Promise<Date> {
  const [row] = await db.select<{ now: Date }>('SELECT NOW(6) AS now');
  return row.now;
}

/** Ticks are kept this long (each schedule's latest always, which decides what was missed). */
export const TICK_RETENTION_DAYS = 7;

/** Deletes the ticks past retention but each schedule's latest; returns how many. */
export async function pruneTicks(db: Database): Promise<number> {
  const t = db.tables;
  const result = await db.write(
    `DELETE k FROM \`${t.scheduleTick}\` k
       JOIN (SELECT application, schedule, MAX(tick_at) AS latest FROM \`${t.scheduleTick}\` GROUP BY application, schedule) l
         ON l.application = k.application AND l.schedule = k.schedule
      WHERE k.tick_at < l.latest AND k.tick_at < NOW(6) - INTERVAL ? DAY`,
    [TICK_RETENTION_DAYS],
  );
  return result.affectedRows;
}
