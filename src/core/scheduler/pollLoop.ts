import { backoffDelay, sleep } from '../timing';

/**
 * What the scheduler's poll loop does next. The mode changes in one place, `setMode`, along the
 * moves of MOVES:
 *
 * - `claiming`: something says there may be work (a submit in this process, a task ending, the
 *   database's wait, the last claim filling every slot): poll now and claim.
 * - `probing`: the pace ran out with no news: poll, but claim only what a probe finds.
 * - `waiting`: wait for news (the database's wait, a local wake-up) until the pace runs out.
 * - `backing-off`: the last poll failed (the database is away): wait longer after each failure.
 * - `stopped`: the scheduler stopped; the loop has returned.
 */
export type PollMode = 'claiming' | 'probing' | 'waiting' | 'backing-off' | 'stopped';

const MOVES: Record<PollMode, readonly PollMode[]> = {
  claiming: ['claiming', 'waiting', 'backing-off', 'stopped'],
  probing: ['claiming', 'waiting', 'backing-off', 'stopped'],
  waiting: ['claiming', 'probing', 'stopped'],
  'backing-off': ['claiming', 'probing', 'stopped'],
  stopped: [],
};

/** What the loop drives: the scheduler. */
export interface PollTarget {
  /** Whether to go on polling (running, or stopping with runs still to finish). */
  polling(): boolean;
  /** One poll: claims for the applications with free slots; returns how many tasks it claimed. */
  poll(woken: boolean): Promise<number>;
  /** Waits at most `maxWaitMs` for the database to report a task it could claim: true if it did. */
  waitForWork(maxWaitMs: number, signal: AbortSignal): Promise<boolean>;
  onError(error: unknown, where: string): Promise<void>;
}

/** A plain abort reason: the default is a DOMException with a stack, made on every wake-up. */
const WAKE_UP = 'wake up';

export class PollLoop {
  private current: PollMode = 'claiming';
  private wakeController = new AbortController();
  private pollFailures = 0;
  private waitFailures = 0;
  /** The last wait ended because the database reported work. */
  private databaseSaidWork = false;
  /** Wake-ups from the database in a row whose poll claimed nothing. */
  private emptyWakeups = 0;

  constructor(
    private readonly target: PollTarget,
    private readonly options: { intervalMs: number; stopSignal: AbortSignal },
  ) {}

  get mode(): PollMode {
    return this.current;
  }

  /** Polls now instead of when the pace runs out. */
  wake(): void {
    this.wakeController.abort(WAKE_UP);
  }

  async run(): Promise<void> {
    let wake = this.wakeController;
    while (this.target.polling()) {
      if (this.current === 'claiming' || this.current === 'probing') {
        // A wake-up that came after the last step looked: this poll is a woken one.
        if (wake.signal.aborted) this.setMode('claiming');
        // Armed before the poll and kept through the wait after it, so that a wake-up during
        // either (a task ending while we claim) is never lost.
        wake = new AbortController();
        this.wakeController = wake;
      }
      const signal = AbortSignal.any([wake.signal, this.options.stopSignal]);
      if (this.current === 'claiming' || this.current === 'probing') await this.poll(wake.signal);
      else if (this.current === 'waiting') await this.wait(wake.signal, signal);
      else await this.backOff(wake.signal, signal);
    }
    this.setMode('stopped');
  }

  private setMode(next: PollMode): void {
    if (!MOVES[this.current].includes(next))
      throw new Error(`The poll loop cannot go from ${this.current} to ${next}.`);
    this.current = next;
  }

  private async poll(woken: AbortSignal): Promise<void> {
    let claimed: number;
    try {
      claimed = await this.target.poll(this.current === 'claiming');
      this.pollFailures = 0;
    } catch (error) {
      this.pollFailures++;
      this.databaseSaidWork = false;
      await this.target.onError(error, 'poll');
      return this.setMode(woken.aborted ? 'claiming' : 'backing-off');
    }
    if (woken.aborted) return this.setMode('claiming');
    // A wake-up from the database whose poll claimed nothing: someone else took the task, or our
    // heartbeat is stale and the claim refused us. Waiting longer each time keeps it from spinning.
    this.emptyWakeups = this.databaseSaidWork && claimed === 0 ? this.emptyWakeups + 1 : 0;
    this.setMode('waiting');
  }

  private async wait(woken: AbortSignal, signal: AbortSignal): Promise<void> {
    const pace = this.options.intervalMs;
    if (this.emptyWakeups > 0) await sleep(Math.min(pace, 5 * 2 ** this.emptyWakeups), signal);
    try {
      this.databaseSaidWork = await this.target.waitForWork(pace * (0.5 + Math.random()), signal);
      this.waitFailures = 0;
    } catch (error) {
      this.databaseSaidWork = false;
      this.waitFailures++;
      await this.target.onError(error, 'waiting for tasks');
      await sleep(Math.max(pace, backoffDelay(this.waitFailures)), signal);
    }
    this.setMode(this.databaseSaidWork || woken.aborted ? 'claiming' : 'probing');
  }

  private async backOff(woken: AbortSignal, signal: AbortSignal): Promise<void> {
    await sleep(Math.max(this.options.intervalMs, backoffDelay(this.pollFailures)), signal);
    this.setMode(woken.aborted ? 'claiming' : 'probing');
  }
}
