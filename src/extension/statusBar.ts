import * as vscode from 'vscode';
import type { DatabaseConnection } from './databaseConnection';
import type { EmbeddedScheduler } from './embeddedScheduler';
import type { RunningCount } from './runningCount';
import type { TaskTreeNode } from './views/taskTree';

/** One status bar item and the Tasks view's badge: running tasks, or the database's trouble. */
export function createStatusBar(
  connection: DatabaseConnection,
  scheduler: EmbeddedScheduler,
  running: RunningCount,
  view: vscode.TreeView<TaskTreeNode>,
): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('taskman.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Taskman';
  item.command = 'taskman.tasks.focus';
  const update = () => {
    const state = connection.state;
    const count = state.kind === 'connected' ? running.value : 0;
    if (state.kind === 'unavailable') {
      item.text = '$(warning) Taskman: database unavailable';
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else if (state.kind === 'not-configured') {
      item.text = '$(database) Taskman: no database';
      item.backgroundColor = undefined;
    } else {
      item.text = count > 0 ? `$(sync~spin) Taskman: ${count} running` : '$(checklist) Taskman';
      item.backgroundColor = undefined;
    }
    view.badge = count > 0 ? { value: count, tooltip: `${count} task${count === 1 ? '' : 's'} running` } : undefined;
    item.tooltip = `Taskman — ${state.kind}${scheduler.running ? `, this window's scheduler ${scheduler.current?.id ?? ''} is running` : `, scheduler: ${scheduler.whyNotRunning()}`}`;
    item.show();
  };
  update();
  return vscode.Disposable.from(
    item,
    connection.onDidChange(update),
    scheduler.onDidChange(update),
    running.onDidChange(update),
  );
}
