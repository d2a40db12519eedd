import * as vscode from 'vscode';
import type { DatabaseConnection } from './databaseConnection';

/** The slowest a status read repeats while connected: the status bar is always in sight. */
const MAX_INTERVAL_MS = 2000;

/**
 * Calls `read` at once and then at the view's pace (`taskman.view.refreshInterval`, at most every
 * 2 s) while the window is connected; `disconnected` when it is not. Follows the setting and the
 * connection as they change.
 */
export function readWhileConnected(
  connection: DatabaseConnection,
  read: () => void,
  disconnected: () => void = () => undefined,
): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (connection.state.kind !== 'connected') return disconnected();
    const interval = vscode.workspace.getConfiguration('taskman').get<number>('view.refreshInterval', 1000);
    timer = setInterval(read, Math.min(MAX_INTERVAL_MS, Math.max(200, interval)));
    read();
  };
  const disposables = [
    connection.onDidChange(schedule),
    vscode.workspace.onDidChangeConfiguration(
      (event) => event.affectsConfiguration('taskman.view.refreshInterval') && schedule(),
    ),
  ];
  schedule();
  return new vscode.Disposable(() => {
    if (timer) clearInterval(timer);
    for (const disposable of disposables) disposable.dispose();
  });
}
