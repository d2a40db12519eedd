import { type Database, isTransientDatabaseError } from '../database/connection';
import { waitForClaimableTask } from '../database/waitForClaimableTask';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';

/**
 * The database looks every 2 ms within 100 ms of the last task claimed or ended, when the next one
 * is most likely, then less often (idle ms / 50, also as a wait goes on): every 100 ms after 5 s
 * with none, every second after 50 s. Quick pickups while tasks come; while none do, an idle
 * scheduler costs the server about a look a second. What each pace costs and buys: docs/design.md,
 * "Waking up".
 */
const FASTEST_CHECK_MS = 2;
const SLOWEST_CHECK_MS = 1000;
/**
 * A call lasts the poll interval, or longer while idle (idle ms / 5, at most this): each call is a
 * statement from the client and a procedure start on the server, and an idle pace of a second
 * would otherwise make every call a single look.
 */
const LONGEST_CALL_MS = 10_000;
/** A call started after this long idle is cut short once work shows up, so that the next one looks quickly. */
const SLOW_CALL_IDLE_MS = 5_000;

interface WaitCall {
  result: Promise<string | null | undefined>;
  /** The idle time it started with: its pace. */
  idleMs: number;
  /** The applications it looks for, as `name\0version` lines. */
  applications: string;
  stop: AbortController;
}

/**
 * The cross-host wake-up of one scheduler: a wait inside the database (waitForClaimableTask) that
 * ends as soon as a task it could claim is committed, wherever it was submitted.
 *
 * A local wake-up (a submit in this process, a task ending) does not interrupt the wait: killing
 * it would cost a statement per finished task. The next `wait` joins the call still in flight
 * instead; a result it brings late costs at most one empty claim. Only a call started idle, at a
 * slow pace and lasting seconds, is killed (one statement) when it no longer fits: once work
 * shows up, or when the next wait looks for other applications (a slot of another one freed).
 */
export class DatabaseWake {
  private inFlight: WaitCall | undefined;
  private readonly closing = new AbortController();
  private lastWorkAt: number;
  /** False once the database refused the wait for good (no procedure, no EXECUTE grant). */
  private usable = true;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    /** Milliseconds on a monotonic clock: performance.now(). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastWorkAt = now();
  }

  get available(): boolean {
    return this.usable && !this.closing.signal.aborted;
  }

  /** How long since tasks were last claimed or ended here. */
  idleMs(): number {
    return this.now() - this.lastWorkAt;
  }

  /** Tasks were claimed or ended: look often for a while. */
  sawWork(): void {
    this.lastWorkAt = this.now();
    this.cutShortSlowCall();
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
    const wanted = applications.map((app) => `${app.name}\0${app.version}`).join('\n');
    if (this.inFlight?.applications !== wanted) this.cutShortSlowCall();
    this.inFlight ??= this.startWait(schedulerId, applications, wanted, maxWaitMs);
    const call = this.inFlight.result;
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

  /** A call at a slow pace (started idle, lasting seconds) is killed; a quick one ends soon by itself. */
  private cutShortSlowCall(): void {
    if (!this.inFlight || this.inFlight.idleMs < SLOW_CALL_IDLE_MS) return;
    this.inFlight.stop.abort();
    this.inFlight = undefined;
  }

  /** Kills a wait in flight; it resolves soon after. */
  close(): void {
    this.closing.abort();
  }

  private startWait(
    schedulerId: string,
    applications: { name: string; version: string }[],
    wanted: string,
    maxWaitMs: number,
  ): WaitCall {
    const idleMs = this.idleMs();
    const pace = { fastestMs: FASTEST_CHECK_MS, slowestMs: SLOWEST_CHECK_MS, idleMs };
    const stop = new AbortController();
    const onClose = () => stop.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const result = waitForClaimableTask(
      this.db,
      { schedulerId, applications, pace, maxWaitMs: Math.max(maxWaitMs, Math.min(LONGEST_CALL_MS, idleMs / 5)) },
      stop.signal,
    ).catch((error) => {
      if (isTransientDatabaseError(error)) throw error;
      this.usable = false;
      this.logger.warn(
        `waiting for tasks inside the database failed (${errorMessage(error)}); polling instead. Run "taskman migrate" and grant EXECUTE on the database to fix this.`,
      );
      return null;
    });
    const call: WaitCall = { result, idleMs, applications: wanted, stop };
    const settled = () => {
      this.closing.signal.removeEventListener('abort', onClose);
      if (this.inFlight === call) this.inFlight = undefined;
    };
    result.then(settled, settled);
    return call;
  }
}
