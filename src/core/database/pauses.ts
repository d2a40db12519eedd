import type { Database } from './connection';
import { validApplicationName } from './submitTask';

/**
 * Paused applications: while an application is paused no scheduler claims its tasks (the claim's
 * condition reads this table, lifecycle/claim.ts), its running tasks go on, and it can still be
 * submitted to: its tasks wait, pending.
 */

export interface PausedApplication {
  application: string;
  pausedAt: Date;
  reason: string | null;
}

/** Pauses it (again: the first pause's time stays). Returns the pause as it stands. */
export async function pauseApplication(db: Database, application: string, reason?: string): Promise<PausedApplication> {
  const name = validApplicationName(application);
  const why = reason === undefined ? null : String(reason).slice(0, 1024);
  await db.write(
    `INSERT INTO \`${db.tables.pause}\` (application, paused_at, reason) VALUES (?, NOW(6), ?)
       ON DUPLICATE KEY UPDATE reason = COALESCE(?, reason)`,
    [name, why, why],
  );
  const [pause] = await listPausedApplications(db, name);
  return pause;
}

/** Resumes it: schedulers claim its tasks at their next poll. False when it was not paused. */
export async function resumeApplication(db: Database, application: string): Promise<boolean> {
  const result = await db.write(`DELETE FROM \`${db.tables.pause}\` WHERE application = ?`, [
    validApplicationName(application),
  ]);
  return result.affectedRows === 1;
}

/** The paused applications (or that one, if paused), by name. */
export async function listPausedApplications(db: Database, application?: string): Promise<PausedApplication[]> {
  const rows = await db.select<{ application: string; paused_at: Date; reason: string | null }>(
    `SELECT application, paused_at, reason FROM \`${db.tables.pause}\`${application === undefined ? '' : ' WHERE application = ?'}
      ORDER BY application`,
    application === undefined ? [] : [application],
  );
  return rows.map((row) => ({ application: row.application, pausedAt: row.paused_at, reason: row.reason }));
}
