import * as vscode from 'vscode';
import type { DatabaseConnection } from './databaseConnection';
import type { TaskTree } from './views/taskTree';

/** The slowest the count is read while connected: the status bar is always in sight. */
const MAX_INTERVAL_MS = 2000;

/**
 * How many of the Tasks view's tasks run now, for the view's badge and the status bar: one
 * indexed COUNT per interval, read whether or not the view is visible (its tree refreshes only
 * while it is), so neither goes stale.
 */
export class RunningCount implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<number>();
  readonly onDidChange = this.changed.event;
  private current = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly tree: TaskTree,
  ) {
    this.disposables = [
      this.changed,
      connection.onDidChange(() => this.schedule()),
      tree.onDidRefresh(() => void this.read()),
      vscode.workspace.onDidChangeConfiguration(
        (event) => event.affectsConfiguration('taskman.view.refreshInterval') && this.schedule(),
      ),
    ];
    this.schedule();
  }

  get value(): number {
    return this.current;
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.connection.state.kind !== 'connected') return;
    const interval = vscode.workspace.getConfiguration('taskman').get<number>('view.refreshInterval', 1000);
    this.timer = setInterval(() => void this.read(), Math.min(MAX_INTERVAL_MS, Math.max(200, interval)));
    void this.read();
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
    if (this.timer) clearInterval(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
