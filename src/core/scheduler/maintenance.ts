import type { Database } from '../database/connection';
import { settleOrphanedTasks, sweepDeadSchedulers } from '../database/schedulers';
import { expireOverdueTasks } from '../database/lifecycle';
import type { Logger } from '../logger';
import { repeatEvery } from '../timing';
import type { DatabaseHealth } from './databaseHealth';
import type { DependentsSettler } from './dependentsSettler';

/** A scheduler that claimed and ended nothing for this long maintains less often. */
const IDLE_AFTER_MS = 60_000;

/**
 * The time to the next round: the heartbeat interval (± 20 %, so that schedulers started together
 * drift apart); three of them while this scheduler has had nothing to do for a minute, since a
 * fleet of idle ones would otherwise spend the server's CPU sweeping nothing. What a busy scheduler
 * that died leaves is then settled up to three intervals later (docs/design.md, "Waking up").
 */
function maintenanceDelayMs(heartbeatIntervalMs: number, activity: { busy: boolean; idleMs: number }): number {
  const idle = !activity.busy && activity.idleMs >= IDLE_AFTER_MS;
  return heartbeatIntervalMs * (idle ? 3 : 1) * (0.8 + 0.4 * Math.random());
}

export interface MaintenanceOptions {
  db: Database;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  health: DatabaseHealth;
  logger: Logger;
  dependents: DependentsSettler;
  /** The scheduler's id while it is registered and claims; undefined skips the round. */
  maintainer: () => string | undefined;
  /** Whether the scheduler has tasks running or held, and how long since tasks last came or went. */
  activity: () => { busy: boolean; idleMs: number };
  onError: (error: unknown) => Promise<void>;
}

/**
 * A scheduler's maintenance, on a timer of its own until `signal` aborts: it meets other
 * schedulers' locks (for at most the session's lock wait), so it is never in a claim's way.
 * A round: maintain() below, then the dependents' (DependentsSettler).
 */
export function runMaintenance(signal: AbortSignal, options: MaintenanceOptions): Promise<void> {
  return repeatEvery(
    signal,
    () => maintenanceDelayMs(options.heartbeatIntervalMs, options.activity()),
    async () => {
      const schedulerId = options.maintainer();
      if (!schedulerId) return;
      await maintain(options.db, { ...options, schedulerId });
      await options.dependents.maintain();
      options.health.available();
    },
    { onError: options.onError },
  );
}

/**
 * One round of a scheduler's maintenance: sweeping dead schedulers, settling running tasks whose
 * scheduler row is gone, expiring overdue pending tasks. Each statement skips rows another session
 * holds or waits at most the session's lock wait; the scheduler runs this on a timer of its own,
 * so that it never holds up claims.
 */
async function maintain(
  db: Database,
  options: { schedulerId: string; heartbeatTimeoutMs: number; health: DatabaseHealth; logger: Logger },
): Promise<void> {
  const { schedulerId, heartbeatTimeoutMs, health, logger } = options;
  // After an outage every scheduler's heartbeat is stale; give them a full timeout to come back
  // before judging anyone dead.
  if (health.sinceLastError() >= heartbeatTimeoutMs) {
    const swept = await sweepDeadSchedulers(db, schedulerId, heartbeatTimeoutMs);
    if (swept.schedulers.length) {
      logger.warn(
        `swept dead scheduler(s) ${swept.schedulers.join(', ')}: ${swept.requeued} task(s) back to pending, ${swept.lost} lost, ${swept.retried} lost but idempotent and retried`,
      );
    }
  }
  const orphans = await settleOrphanedTasks(db);
  if (orphans.schedulers.length) {
    logger.warn(
      `settled the running tasks of gone scheduler(s) ${orphans.schedulers.join(', ')}: ${orphans.requeued} task(s) back to pending, ${orphans.lost} lost, ${orphans.retried} lost but idempotent and retried`,
    );
  }
  const expired = await expireOverdueTasks(db);
  if (expired) logger.info(`${expired} pending task(s) passed their start-before deadline: expired`);
}
