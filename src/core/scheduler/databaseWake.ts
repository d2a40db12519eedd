import { type Database, isTransientDatabaseError } from '../database/connection';
import { waitForClaimableTask } from '../database/waitForClaimableTask';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';

/**
 * The database looks every 2 ms within 100 ms of the last task claimed or ended, when the next one
 * is most likely, then less often (idle ms / 50, also as a wait goes on), down to every 100 ms
 * after 5 s with none: quick pickups while tasks come, little server CPU while none do. What each
 * pace costs and buys: docs/design.md, "Waking up".
 */
const FASTEST_CHECK_MS = 2;
const SLOWEST_CHECK_MS = 100;

/**
 * The cross-host wake-up of one scheduler: a wait inside the database (waitForClaimableTask) that
 * ends as soon as a task it could claim is committed, wherever it was submitted.
 *
 * A local wake-up (a submit in this process, a task ending) does not interrupt the wait: killing
 * it would cost a statement per finished task. The next `wait` joins the call still in flight
 * instead; a result it brings late costs at most one empty claim.
 */
export class DatabaseWake {
  private inFlight: Promise<string | null | undefined> | undefined;
  private readonly closing = new AbortController();
  private lastWorkAt = performance.now();
  /** False once the database refused the wait for good (no procedure, no EXECUTE grant). */
  private usable = true;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  get available(): boolean {
    return this.usable && !this.closing.signal.aborted;
  }

  /** Tasks were claimed or ended: look often for a while. */
  sawWork(): void {
    this.lastWorkAt = performance.now();
  }

  /**
   * True when the database reports a claimable task; false when `maxWaitMs` passed, `signal`
   * aborted, or the wait is not available (a message says why, once). Transient errors reject.
   */
  async wait(
    schedulerId: string,
    applications: { name: string; version: string }[],
    maxWaitMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!this.available || signal.aborted) return false;
    this.inFlight ??= this.startWait(schedulerId, applications, maxWaitMs);
    const call = this.inFlight;
    let onAbort!: () => void;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([call, aborted]);
      return typeof result === 'string' && result !== 'aborted';
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Kills a wait in flight; it resolves soon after. */
  close(): void {
    this.closing.abort();
  }

  private startWait(
    schedulerId: string,
    applications: { name: string; version: string }[],
    maxWaitMs: number,
  ): Promise<string | null | undefined> {
    const pace = {
      fastestMs: FASTEST_CHECK_MS,
      slowestMs: SLOWEST_CHECK_MS,
      idleMs: performance.now() - this.lastWorkAt,
    };
    const call = waitForClaimableTask(
      this.db,
      { schedulerId, applications, pace, maxWaitMs },
      this.closing.signal,
    ).catch((error) => {
      if (isTransientDatabaseError(error)) throw error;
      this.usable = false;
      this.logger.warn(
        `waiting for tasks inside the database failed (${errorMessage(error)}); polling instead. Run "taskman migrate" and grant EXECUTE on the database to fix this.`,
      );
      return null;
    });
    const settled = () => {
      if (this.inFlight === call) this.inFlight = undefined;
    };
    call.then(settled, settled);
    return call;
  }
}
