/**
 * A value read at most once per `maxAgeMs`, however many ask for it: callers within that time get
 * the last reading, and callers while a reading is under way share it (readings never overlap). A
 * failed reading is kept for the same time, so that a database that does not answer is not asked
 * again by every scrape.
 */
export class CachedValue<T> {
  private last: { at: number; value: Promise<T>; settled: boolean } | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs: number,
    /** A monotonic clock in ms (tests give their own). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): Promise<T> {
    const now = this.now();
    const last = this.last;
    if (last && (!last.settled || now - last.at < this.maxAgeMs)) return last.value;
    const reading = { at: now, value: this.read(), settled: false };
    const settle = () => {
      reading.settled = true;
    };
    reading.value.then(settle, settle);
    this.last = reading;
    return reading.value;
  }
}
