/**
 * When a scheduler must compare the `running` rows under its id with what it really runs.
 *
 * A claim or a release whose reply was lost (the connection died after the server acted) leaves
 * rows `running` under our id that no runner of ours will ever take: the claim committed but we
 * never heard, or the release never happened. A write that failed that way marks the scheduler
 * suspect; while suspect, the poll loop reconciles at most once per `intervalMs`, as soon as the
 * database answers, and goes on doing so for `settleMs` after the last suspect write: a COMMIT
 * still on the wire when the client gave up lands within the server's wait_timeout, or never.
 *
 * The poll loop is the only place a claim is made and the only place reconciliation runs, so a
 * claim in flight can never be mistaken for a stray.
 */
export class StrayClaims {
  /** Monotonic time until which reconciling goes on; undefined when nothing is suspect. */
  private watchUntil: number | undefined;
  private lastCheckAt = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly settleMs: number,
  ) {}

  /** A write whose outcome is unknown failed: rows under our id may not be what we think. */
  suspect(now: number): void {
    this.watchUntil = Math.max(this.watchUntil ?? 0, now + this.settleMs);
  }

  due(now: number): boolean {
    return this.watchUntil !== undefined && now - this.lastCheckAt >= this.intervalMs;
  }

  /** A reconciliation began at `startedAt` and completed. */
  checked(startedAt: number): void {
    this.lastCheckAt = startedAt;
    if (this.watchUntil !== undefined && startedAt >= this.watchUntil) this.watchUntil = undefined;
  }

  /** A reconciliation failed (the database is still away): try again at the next poll. */
  failed(): void {
    this.lastCheckAt = -Infinity;
  }
}
