import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outcome } from '../database/runningTasks';
import { Logger } from '../logger';
import { isProcessAlive } from '../processes';

export interface JournalEntry {
  taskId: string;
  schedulerId: string;
  outcome: Outcome;
}

type Line = { type: 'outcome'; entry: JournalEntry } | { type: 'delivered'; taskId: string };

/**
 * A small local file that keeps each finished run's outcome until the database has it. Outcomes
 * are appended and fsync'd before delivery is attempted, so a result survives a database outage
 * and a scheduler crash; the next scheduler started on this host replays what was not delivered.
 * One file per scheduler process (`outcomes-<pid>.jsonl`); emptied whenever nothing is pending.
 */
export class OutcomeJournal {
  private readonly pending = new Map<string, JournalEntry>();
  private fd: number | undefined;

  private constructor(readonly file: string) {}

  static open(dir: string): OutcomeJournal {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const journal = new OutcomeJournal(path.join(dir, `outcomes-${os.hostname()}-${process.pid}.jsonl`));
    journal.fd = fs.openSync(journal.file, 'w', 0o600);
    return journal;
  }

  record(entry: JournalEntry): void {
    this.pending.set(entry.taskId, entry);
    this.append({ type: 'outcome', entry }, true);
  }

  delivered(taskId: string): void {
    if (!this.pending.delete(taskId)) return;
    if (this.pending.size === 0) {
      // Nothing left to keep: start the file afresh rather than let it grow.
      if (this.fd !== undefined) fs.ftruncateSync(this.fd, 0);
      return;
    }
    // Losing this line in a crash only means a redelivery, which the fenced write turns into a no-op.
    this.append({ type: 'delivered', taskId }, false);
  }

  get size(): number {
    return this.pending.size;
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.pending.size === 0) fs.rmSync(this.file, { force: true });
  }

  private append(line: Line, sync: boolean): void {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, `${JSON.stringify(line)}\n`);
    if (sync) fs.fdatasyncSync(this.fd);
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
        this.record(entry);
        entries.push(entry);
      }
      fs.rmSync(file, { force: true });
    }
    return entries;
  }
}
