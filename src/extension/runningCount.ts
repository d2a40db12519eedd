import * as vscode from 'vscode';
import { readWhileConnected } from './connectedPace';
import type { DatabaseConnection } from './databaseConnection';
import type { TaskTree } from './views/taskTree';

/**
 * How many of the Tasks view's tasks run now, for the view's badge and the status bar: one
 * indexed COUNT per interval, read whether or not the view is visible (its tree refreshes only
 * while it is), so neither goes stale.
 */
export class RunningCount implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<number>();
  readonly onDidChange = this.changed.event;
  private current = 0;
  private reading = false;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly tree: TaskTree,
  ) {
    this.disposables = [
      this.changed,
      tree.onDidRefresh(() => void this.read()),
      readWhileConnected(connection, () => void this.read()),
    ];
  }

  get value(): number {
    return this.current;
  }

  async read(): Promise<void> {
    if (this.reading || this.connection.state.kind !== 'connected') return;
    this.reading = true;
    try {
      const { applications, search } = this.tree.filter;
      const counts = await this.connection.state.taskman.count({ states: ['running'], applications, search }, 'state');
      const running = counts.get('running') ?? 0;
      if (running !== this.current) {
        this.current = running;
        this.changed.fire(running);
      }
    } catch {
      // The tree and the status bar show the database's trouble; the next read tries again.
    } finally {
      this.reading = false;
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
