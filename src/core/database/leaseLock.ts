import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { DatabaseError } from '../errors';
import { sleep } from '../timing';
import type { Database } from './connection';
import { isTransientDatabaseError } from './databaseErrors';

/** A holder that stops renewing (it crashed, or was cut off) loses the lease after this long. */
const LEASE_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;

/**
 * Holds a named lock, as a row in the lock table, while `body` runs: only one process in the
 * whole deployment runs a body under the same name at a time.
 *
 * Why a row and not GET_LOCK: a named lock lives in one server's memory. On a Galera node it is
 * local to that node (MariaDB 10.11 grants the same name on two nodes at once; older versions
 * refuse GET_LOCK with WSREP_ON); a row is replicated like any other, and two nodes taking it at
 * once is a certification conflict that one of them loses. DDL commits implicitly, so the lock cannot be a transaction's row lock either: it is a
 * lease, renewed while the body runs and taken over once it expired (its holder died).
 *
 * Contract: input a name and the longest wait; output the body's result; guarantee: while the
 * lease is renewed, no other holder gets the name. The lock table must exist (ensureLockTable).
 */
export async function withLease<T>(
  db: Database,
  name: string,
  waitSeconds: number,
  body: () => Promise<T>,
): Promise<T> {
  const holder = `${os.hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`.slice(0, 255);
  const table = db.tables.lock;
  const deadline = performance.now() + waitSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      await db.write(
        `INSERT INTO \`${table}\` (name, holder, expires_at) VALUES (?, ?, NOW(6) + INTERVAL ? SECOND)
         ON DUPLICATE KEY UPDATE holder = IF(expires_at < NOW(6), ?, holder), expires_at = IF(holder = ?, NOW(6) + INTERVAL ? SECOND, expires_at)`,
        [name, holder, LEASE_SECONDS, holder, holder, LEASE_SECONDS],
      );
    } catch (error) {
      // Another process took it at the same moment (on Galera, a certification conflict), or the
      // reply was lost after the server acted: look who holds it.
      if (!isTransientDatabaseError(error)) throw error;
    }
    const rows = await db.select<{ holder: string }>(`SELECT holder FROM \`${table}\` WHERE name = ?`, [name]);
    if (rows[0]?.holder === holder) break;
    if (performance.now() > deadline) {
      throw new DatabaseError(
        `Timed out after ${waitSeconds}s waiting for the lock "${name}" held by ${rows[0]?.holder ?? 'another Taskman process'}.`,
      );
    }
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
  const renew = setInterval(() => {
    db.write(`UPDATE \`${table}\` SET expires_at = NOW(6) + INTERVAL ? SECOND WHERE name = ? AND holder = ?`, [
      LEASE_SECONDS,
      name,
      holder,
    ]).catch(() => undefined);
  }, RENEW_EVERY_MS);
  try {
    return await body();
  } finally {
    clearInterval(renew);
    await release(db, table, name, holder);
  }
}

/**
 * Gives the lease back. On Galera the DELETE can lose a certification conflict to a waiter's
 * attempt on the same row, so a conflict (or a moment of outage) is tried again, a few times: a
 * release given up on leaves the next holder waiting for the lease to expire (LEASE_SECONDS), as
 * a scheduler starting then would.
 */
async function release(db: Database, table: string, name: string, holder: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await db.write(`DELETE FROM \`${table}\` WHERE name = ? AND holder = ?`, [name, holder]);
      return;
    } catch (error) {
      // Not a conflict or an outage (which pass): the lease expires by itself.
      if (!isTransientDatabaseError(error)) return;
      await sleep(50 * 2 ** attempt);
    }
  }
}

/** The lock table; idempotent DDL, safe to run from many processes at once (and on Galera, in total order). */
export async function ensureLockTable(db: Database): Promise<void> {
  await db.command(
    `CREATE TABLE IF NOT EXISTS \`${db.tables.lock}\` (
      name VARCHAR(64) NOT NULL PRIMARY KEY,
      holder VARCHAR(255) NOT NULL,
      expires_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
}
