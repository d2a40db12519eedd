import * as vscode from 'vscode';
import type { PausedApplication } from '../core';
import { readWhileConnected } from './connectedPace';
import type { DatabaseConnection } from './databaseConnection';

/**
 * Which applications are paused (by anyone, from any client), for the status bar and the views:
 * one read of the small pause table per interval while connected, and at once after this window
 * paused or resumed one.
 */
export class PausedApplications implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private current: PausedApplication[] = [];
  /** The read in flight, and the one that follows it for callers who came meanwhile. */
  private reading: Promise<void> | undefined;
  private following: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly connection: DatabaseConnection) {
    this.disposables = [
      this.changed,
      readWhileConnected(
        connection,
        () => void this.read(),
        () => this.update([]),
      ),
    ];
  }

  get value(): readonly PausedApplication[] {
    return this.current;
  }

  get(application: string): PausedApplication | undefined {
    return this.current.find((pause) => pause.application === application);
  }

  /**
   * Resolves once a read that began after this call is done: a read already in flight may have
   * started before the caller's pause or resume, so callers who come meanwhile share one more.
   */
  read(): Promise<void> {
    if (!this.reading) return this.startRead();
    this.following ??= this.reading.then(() => {
      this.following = undefined;
      return this.startRead();
    });
    return this.following;
  }

  private startRead(): Promise<void> {
    const reading = this.readOnce().finally(() => {
      if (this.reading === reading) this.reading = undefined;
    });
    this.reading = reading;
    return reading;
  }

  private async readOnce(): Promise<void> {
    if (this.connection.state.kind !== 'connected') return;
    try {
      this.update(await this.connection.state.taskman.pausedApplications());
    } catch {
      // The tree and the status bar show the database's trouble; the next read tries again.
    }
  }

  private update(pauses: PausedApplication[]): void {
    const key = (list: readonly PausedApplication[]) =>
      JSON.stringify(list.map((p) => [p.application, p.pausedAt.getTime(), p.reason]));
    if (key(pauses) === key(this.current)) return;
    this.current = pauses;
    void vscode.commands.executeCommand('setContext', 'taskman.paused', pauses.length > 0);
    this.changed.fire();
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
