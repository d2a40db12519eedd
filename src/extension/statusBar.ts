import * as vscode from 'vscode';
import type { DatabaseConnection } from './databaseConnection';
import type { EmbeddedScheduler } from './embeddedScheduler';
import type { PausedApplications } from './pausedApplications';
import type { RunningCount } from './runningCount';
import type { TaskTreeNode } from './views/taskTree';
import type { WorkspaceApplications } from './workspaceApplications';

/**
 * One status bar item and the Tasks view's badge: running tasks, the workspace's paused
 * applications, or the database's trouble.
 */
export function createStatusBar(
  connection: DatabaseConnection,
  scheduler: EmbeddedScheduler,
  running: RunningCount,
  paused: PausedApplications,
  applications: WorkspaceApplications,
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
      const mine = new Set(applications.valid().map((app) => app.name));
      const pausedHere = paused.value.filter((pause) => mine.has(pause.application)).map((p) => p.application);
      const runningText = count > 0 ? `${count} running` : '';
      const pausedText = pausedHere.length ? `${pausedHere.join(', ')} paused` : '';
      const icon = count > 0 ? '$(sync~spin)' : pausedHere.length ? '$(debug-pause)' : '$(checklist)';
      const detail = [runningText, pausedText].filter(Boolean).join(' · ');
      item.text = detail ? `${icon} Taskman: ${detail}` : '$(checklist) Taskman';
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
    paused.onDidChange(update),
    applications.onDidChange(update),
  );
}
