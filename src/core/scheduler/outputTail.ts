/** Keeps the last `limitBytes` of a stream of output, however much passes through. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limitBytes: number) {}

  /** Starts over (a pooled runner's next task). */
  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.dropped = 0;
  }

  push(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buffer);
    this.size += buffer.length;
    // Compact only when twice over the limit, so each byte is copied a bounded number of times.
    if (this.size > this.limitBytes * 2) this.compact();
  }

  /** The kept output as text, with a first line saying how much was dropped, if any. */
  text(): string {
    this.compact();
    let kept = Buffer.concat(this.chunks);
    // Do not start in the middle of a UTF-8 sequence.
    let start = 0;
    while (this.dropped > 0 && start < kept.length && start < 4 && (kept[start] & 0xc0) === 0x80) start++;
    kept = kept.subarray(start);
    const dropped = this.dropped + start;
    return (dropped > 0 ? `[… ${dropped} earlier bytes of output dropped]\n` : '') + kept.toString('utf8');
  }

  get totalBytes(): number {
    return this.size + this.dropped;
  }

  private compact(): void {
    if (this.size <= this.limitBytes) return;
    const all = Buffer.concat(this.chunks);
    const excess = all.length - this.limitBytes;
    this.dropped += excess;
    this.chunks = [Buffer.from(all.subarray(excess))];
    this.size = this.limitBytes;
  }
}
