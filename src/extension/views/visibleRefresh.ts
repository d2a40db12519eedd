import type * as vscode from 'vscode';

/**
 * Calls `refresh` every `intervalMs()` while a view is visible, and at once each time it becomes
 * visible: a hidden view asks the database nothing.
 */
export class RefreshWhileVisible implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly view: vscode.TreeView<unknown>,
    private readonly intervalMs: () => number,
    private readonly refresh: () => unknown,
  ) {
    this.subscription = view.onDidChangeVisibility(() => this.reschedule());
    this.reschedule();
  }

  /** Starts over: at once if visible, then at the (possibly changed) interval. */
  reschedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.view.visible) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs());
    void this.refresh();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.subscription.dispose();
  }
}

/** The rows a view has shown: VS Code may pass a command one from before the last refresh. */
export class ShownRows<T extends object> {
  private readonly rows = new WeakSet<object>();

  add(row: T): T {
    this.rows.add(row);
    return row;
  }

  /** Whether `value` is a row of this view (VS Code passes the focused row to title-bar commands). */
  has(value: unknown): value is T {
    return typeof value === 'object' && value !== null && this.rows.has(value);
  }
}
