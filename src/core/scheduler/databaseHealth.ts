import { isConflict, isTransientDatabaseError } from '../database/databaseErrors';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { backoffDelay, sleep } from '../timing';

/**
 * Whether the database answers, as the scheduler's own calls find out. Says so once per change
 * (a log line and the callback), however many calls fail meanwhile.
 */
export class DatabaseHealth {
  private down = false;
  /** Monotonic time of the last failed call. */
  private lastErrorAt: number | undefined;

  constructor(
    private readonly logger: Logger,
    /** `failed`: every transient failure, a conflict too (the scheduler counts them). */
    private readonly on: { unavailable(error: Error): void; available(): void; failed(error: Error): void },
  ) {}

  /**
   * A call failed with a transient error. A conflict (deadlock, Galera certification conflict, a
   * row locked elsewhere) means the server answered: it is logged as what it is and changes
   * nothing here; anything else means the database is unavailable.
   */
  failed(error: Error): void {
    this.on.failed(error);
    if (isConflict(error)) {
      this.logger.debug(`retrying after a conflict: ${errorMessage(error)}`);
      return;
    }
    this.unavailable(error);
  }

  private unavailable(error: Error): void {
    this.lastErrorAt = performance.now();
    if (this.down) return;
    this.down = true;
    this.logger.warn(`database unavailable, retrying with backoff: ${errorMessage(error)}`);
    this.on.unavailable(error);
  }

  available(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info('database available again');
    this.on.available();
  }

  /** Milliseconds since a call last found the database unavailable; Infinity if none has. */
  sinceLastError(): number {
    return this.lastErrorAt === undefined ? Infinity : performance.now() - this.lastErrorAt;
  }

  /**
   * Runs `operation` until it succeeds, retrying transient failures with backoff. Stops with
   * undefined once `cancelled()` says the answer is no longer wanted.
   */
  async retryWhileUnavailable<T>(operation: () => Promise<T>, cancelled: () => boolean): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await operation();
        this.available();
        return result;
      } catch (error) {
        if (!isTransientDatabaseError(error) || cancelled()) throw error;
        this.failed(error as Error);
        await sleep(backoffDelay(attempt));
        if (cancelled()) return undefined;
      }
    }
  }
}
