import type { ApplicationConfig } from '../config';
import type { Database } from '../database/connection';
import type { DatabaseErrorKind } from '../database/databaseErrors';
import type { Logger } from '../logger';
import type { EndedState, Task } from '../task';

/** What a Scheduler is given, its defaults, and what it tells its listeners. */
export interface SchedulerOptions {
  database: Database;
  applications: ApplicationConfig[];
  /** Most tasks this scheduler runs at once over all applications; default: the sum of theirs. */
  concurrency?: number;
  /**
   * Base time between polls; each is jittered ±50 % so schedulers drift apart. Between polls the
   * scheduler waits inside the database, which ends the wait as soon as a task it could claim is
   * committed (DatabaseWake); a submit in this process, or a task ending here, wakes it at once.
   */
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  /** A scheduler whose heartbeat is older than this is dead (database clock). */
  heartbeatTimeoutMs?: number;
  /** After an abort request, how long the task has to stop by itself before SIGTERM. */
  abortGraceMs?: number;
  /** After SIGTERM, how long before SIGKILL. */
  killGraceMs?: number;
  /** On stop(), how long running tasks may go on before they are aborted. */
  shutdownTimeoutMs?: number;
  /** Progress is written to the database at most this often per task. */
  progressWriteIntervalMs?: number;
  resultLimitBytes?: number;
  outputLimitBytes?: number;
  /** A pooled runner with no task for this long is stopped. */
  runnerIdleTimeoutMs?: number;
  /**
   * Claim the tasks expected to start within this many ms (from the application's average run
   * time) before a slot is free for them, so that short tasks follow each other without waiting
   * for a claim (see ClaimedAhead). 0 claims only for free slots.
   */
  claimAheadMs?: number;
  /** Where undelivered outcomes are kept (see OutcomeJournal). */
  journalDir: string;
  /** dist/runner.js; defaults to the runner beside this bundle. */
  runnerScript?: string;
  logger?: Logger;
}

/** What 'task-ended' tells of a task this scheduler process claimed. */
export interface EndedRun {
  application: string;
  task: string;
  /** From its start (a runner was handed it) to its outcome written, on this host's clock; undefined if it never started. */
  runMs: number | undefined;
}

export interface SchedulerEvents {
  registered: [schedulerId: string];
  /**
   * A runner was handed the task. `waitMs`: from its `created_at` (or `run_after`, if later) to
   * now, on the database clock up to its claim, on this host's clock from the claim on.
   */
  'task-started': [task: Task, waitMs: number];
  /** A task run under the inspector is paused before any of its code, waiting for a debugger on `port`. */
  'task-debuggable': [taskId: string, port: number];
  /**
   * Its outcome is written. `run` is undefined for an outcome this process delivers for a previous
   * one (from the journal, which does not keep the task's name).
   */
  'task-ended': [taskId: string, state: EndedState, run: EndedRun | undefined];
  /** Its run failed and it is back to pending, for attempt `nextAttempt` (retries.ts). */
  'task-retrying': [taskId: string, nextAttempt: number, run: EndedRun | undefined];
  /** A claim transaction of this scheduler committed, taking `count` tasks (0: none was claimable). */
  claimed: [application: string, count: number];
  /** Another session made a claim roll back (a deadlock, a Galera certification conflict, locked rows); it is tried again. */
  'claim-conflict': [application: string];
  /** A call of this scheduler to the database failed; `kind` as classifyDatabaseError says. Transient kinds are retried. */
  'database-error': [kind: DatabaseErrorKind, error: Error];
  'database-unavailable': [error: Error];
  'database-available': [];
  fenced: [oldSchedulerId: string];
  stopped: [];
}

const DEFAULTS = {
  pollIntervalMs: 300,
  heartbeatIntervalMs: 5000,
  heartbeatTimeoutMs: 30_000,
  abortGraceMs: 5000,
  killGraceMs: 5000,
  shutdownTimeoutMs: 30_000,
  progressWriteIntervalMs: 500,
  resultLimitBytes: 16 * 1024 * 1024,
  outputLimitBytes: 64 * 1024,
  runnerIdleTimeoutMs: 60_000,
  claimAheadMs: 50,
};

/**
 * A task claimed ahead is released if no slot took it within 10 × claimAheadMs (0.5 s at least):
 * an average that says "within 50 ms" was wrong by that much, and others may run it meanwhile.
 */
export const holdLimitMs = (claimAheadMs: number) => Math.max(500, 10 * claimAheadMs);

/** The options with every default filled in (an option given as undefined takes its default). */
export function withDefaults(options: SchedulerOptions): typeof DEFAULTS & SchedulerOptions {
  return { ...DEFAULTS, ...stripUndefined(options) };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
