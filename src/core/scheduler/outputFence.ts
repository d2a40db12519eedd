import { randomBytes } from 'node:crypto';

/**
 * A pooled runner's output fence. The runner writes a task's output to its stdout and stderr and
 * then its final message to the IPC channel: three sockets, and the parent may read the message
 * before the output that was written first (seen here under load: a task's last lines arriving a
 * millisecond after its final message, counted as the next task's). So, before its final message,
 * the runner writes the fence to both streams: the parent knows it has all of a task's output once
 * it has read the fence from each stream (or the stream ended). The fence is taken out of the
 * output; a fence is unique to its runner process, so no task's output can be mistaken for one.
 */
export function newOutputFence(): string {
  return `\0taskman-output-fence-${randomBytes(12).toString('hex')}\0`;
}

/** One output stream read through its fences: the bytes between go on, each fence is counted. */
export class FencedStream {
  /** Fences read so far. */
  fences = 0;
  ended = false;
  private readonly fence: Buffer;
  /** The end of the last chunk when it may be the start of a fence cut across two chunks. */
  private held: Buffer | undefined;

  constructor(
    fence: string,
    private readonly onBytes: (chunk: Buffer) => void,
    private readonly onFence: () => void,
  ) {
    this.fence = Buffer.from(fence);
  }

  push(chunk: Buffer): void {
    let data = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    for (let at = data.indexOf(this.fence); at >= 0; at = data.indexOf(this.fence)) {
      if (at > 0) this.onBytes(data.subarray(0, at));
      data = data.subarray(at + this.fence.length);
      this.fences++;
      this.onFence();
    }
    const keep = this.partialFenceAt(data);
    if (keep > 0) this.onBytes(data.subarray(0, keep));
    if (keep < data.length) this.held = Buffer.from(data.subarray(keep));
  }

  /** No more output can come: what was held back was output after all. */
  end(): void {
    if (this.ended) return;
    if (this.held) this.onBytes(this.held);
    this.held = undefined;
    this.ended = true;
    this.onFence();
  }

  /** Where the start of a fence begins at the end of `data` (its length when none does). */
  private partialFenceAt(data: Buffer): number {
    const first = this.fence[0];
    for (let at = data.indexOf(first, Math.max(0, data.length - this.fence.length + 1)); at >= 0; ) {
      if (this.fence.subarray(0, data.length - at).equals(data.subarray(at))) return at;
      at = data.indexOf(first, at + 1);
    }
    return data.length;
  }
}
