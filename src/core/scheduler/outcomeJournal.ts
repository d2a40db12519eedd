import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Outcome } from '../database/lifecycle';
import type { Logger } from '../logger';
import { isProcessAlive } from '../processes';

export interface JournalEntry {
  taskId: string;
  schedulerId: string;
  outcome: Outcome;
}

type Line = { type: 'outcome'; entry: JournalEntry } | { type: 'delivered'; taskId: string };

const writeText = promisify(fs.write) as (fd: number, text: string) => Promise<unknown>;

/**
 * Appends that are on disk when the write returns ('as': O_APPEND | O_SYNC, write-through on
 * Windows): one call off the event loop per batch instead of a write and then an fdatasync, each a
 * round trip to a libuv thread.
 */
const DURABLE_APPEND = 'as';

/** A journal that never empties (steady load) is rewritten with its pending outcomes past this size. */
const COMPACT_AT_BYTES = 8 * 1024 * 1024;

/**
 * A small local file that keeps each finished run's outcome until the database has it. Outcomes
 * are appended and fsync'd before delivery is attempted, so a result survives a database outage
 * and a scheduler crash; the next scheduler started on this host replays what was not delivered.
 * One file per scheduler process (`outcomes-<pid>.jsonl`); emptied whenever nothing is pending.
 *
 * Group commit: outcomes recorded while a flush is in progress share the next durable write, done
 * off the event loop. With many short tasks this costs one disk flush per batch instead of one
 * blocking flush per task (docs/design.md, "Outcomes"). A `delivered`
 * line needs no flush of its own: it is written with the next outcomes (or on close), and the file
 * is emptied whenever nothing is pending.
 */
export class OutcomeJournal {
  private readonly pending = new Map<string, JournalEntry>();
  private fd: number | undefined;
  /** Outcome lines not yet written, and who waits for them to be on disk. */
  private queue: string[] = [];
  /** `delivered` lines waiting to go with the next write. */
  private deliveredLines: string[] = [];
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing: Promise<void> | undefined;
  /** Bytes in the file since it was last emptied or compacted. */
  private fileBytes = 0;

  private constructor(readonly file: string) {}

  static open(dir: string): OutcomeJournal {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const journal = new OutcomeJournal(path.join(dir, `outcomes-${os.hostname()}-${process.pid}.jsonl`));
    fs.closeSync(fs.openSync(journal.file, 'w', 0o600));
    // Append mode: after the file is emptied, the next line goes to its start, not past a hole.
    journal.fd = fs.openSync(journal.file, DURABLE_APPEND, 0o600);
    return journal;
  }

  /** Resolves once the outcome is on disk; rejects if it could not be written. */
  record(entry: JournalEntry): Promise<void> {
    this.pending.set(entry.taskId, entry);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.enqueue({ type: 'outcome', entry });
    });
  }

  delivered(taskId: string): void {
    if (!this.pending.delete(taskId)) return;
    if (this.pending.size === 0 && this.queue.length === 0 && !this.flushing) {
      this.empty();
      return;
    }
    // Losing this line in a crash only means a redelivery, which the fenced write turns into a no-op.
    this.deliveredLines.push(line({ type: 'delivered', taskId }));
  }

  get size(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    await this.flushing;
    if (this.fd === undefined) return;
    // So that the next scheduler does not deliver these again.
    if (this.pending.size > 0 && this.deliveredLines.length > 0) fs.writeSync(this.fd, this.deliveredLines.join(''));
    fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.pending.size === 0) fs.rmSync(this.file, { force: true });
  }

  private enqueue(entry: Line): void {
    this.queue.push(line(entry));
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const text = this.deliveredLines.join('') + this.queue.join('');
        const waiters = this.waiters;
        this.queue = [];
        this.deliveredLines = [];
        this.waiters = [];
        try {
          if (this.fd === undefined) throw new Error(`The outcome journal ${this.file} is closed.`);
          await writeText(this.fd, text);
          this.fileBytes += Buffer.byteLength(text);
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error as Error);
        }
        // Under steady load the file may never be empty: keep it to what is still pending.
        if (this.queue.length === 0 && this.pending.size === 0) this.empty();
        else if (this.queue.length === 0 && this.fileBytes > COMPACT_AT_BYTES) this.compact();
      }
    } finally {
      // In the same step as the loop's last look at the queue: a line queued after it starts a new flush.
      this.flushing = undefined;
    }
  }

  /** Nothing left to keep: start the file afresh rather than let it grow. */
  private empty(): void {
    if (this.fd === undefined) return;
    fs.ftruncateSync(this.fd, 0);
    this.fileBytes = 0;
    this.deliveredLines = [];
  }

  /** Rewrites the file with the pending outcomes only (written and synced aside, then renamed over it). */
  private compact(): void {
    if (this.fd === undefined) return;
    const text = [...this.pending.values()].map((entry) => line({ type: 'outcome', entry })).join('');
    const aside = `${this.file}.compacting`;
    const fd = fs.openSync(aside, 'w', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(aside, this.file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, DURABLE_APPEND, 0o600);
    this.fileBytes = Buffer.byteLength(text);
    this.deliveredLines = [];
  }

  /** `record`, synchronously: for outcomes taken over from a dead process's file before it is removed. */
  private recordNow(entry: JournalEntry): void {
    this.pending.set(entry.taskId, entry);
    const text = line({ type: 'outcome', entry });
    fs.writeSync(this.fd!, text);
    this.fileBytes += Buffer.byteLength(text);
  }

  /**
   * Takes over the undelivered outcomes left by scheduler processes of this host that are no longer
   * alive: each is recorded (fsync'd) in this journal before the dead one's file is removed, so an
   * outcome is always held by some file. Returns them for delivery.
   */
  adoptOrphans(logger: Logger): JournalEntry[] {
    const dir = path.dirname(this.file);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const prefix = `outcomes-${os.hostname()}-`;
    const entries: JournalEntry[] = [];
    for (const name of names) {
      const match = name.startsWith(prefix) ? /^(\d+)\.jsonl$/.exec(name.slice(prefix.length)) : null;
      if (!match) continue;
      const pid = Number(match[1]);
      if (pid === process.pid || isProcessAlive(pid)) continue;
      const file = path.join(dir, name);
      const pending = new Map<string, JournalEntry>();
      for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!text) continue;
        try {
          const line = JSON.parse(text) as Line;
          if (line.type === 'outcome') pending.set(line.entry.taskId, line.entry);
          else if (line.type === 'delivered') pending.delete(line.taskId);
        } catch {
          logger.warn(`journal ${file}: skipping a torn line (the process died while writing it)`);
        }
      }
      for (const entry of pending.values()) {
        this.recordNow(entry);
        entries.push(entry);
      }
      fs.rmSync(file, { force: true });
    }
    return entries;
  }
}

function line(entry: Line): string {
  return `${JSON.stringify(entry)}\n`;
}
