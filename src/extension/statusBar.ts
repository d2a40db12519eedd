import * as vscode from 'vscode';
import { DatabaseConnection } from './databaseConnection';
import { EmbeddedScheduler } from './embeddedScheduler';
import { TaskTree } from './views/taskTree';

/** One status bar item: running tasks, or the database's trouble. */
export function createStatusBar(connection: DatabaseConnection, scheduler: EmbeddedScheduler, tree: TaskTree): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('taskman.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Taskman';
  item.command = 'taskman.tasks.focus';
  const update = () => {
    const state = connection.state;
    const running = tree.runningCount();
    if (state.kind === 'unavailable') {
      item.text = '$(warning) Taskman: database unavailable';
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else {
      item.text = running > 0 ? `$(sync~spin) Taskman: ${running} running` : '$(checklist) Taskman';
      item.backgroundColor = undefined;
    }
    item.tooltip = `Taskman — ${state.kind}${scheduler.running ? `, this window's scheduler ${scheduler.current?.id ?? ''} is running` : `, scheduler: ${scheduler.whyNotRunning()}`}`;
    item.show();
  };
  update();
  return vscode.Disposable.from(item, connection.onDidChange(update), scheduler.onDidChange(update), tree.onDidRefresh(update));
}
