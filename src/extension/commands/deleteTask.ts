import * as vscode from 'vscode';
import { ExtensionServices, resolveTaskId, TaskArgument } from '../services';

export async function deleteTask(services: ExtensionServices, argument: TaskArgument, options: { confirm?: boolean } = {}): Promise<void> {
  const id = await resolveTaskId(argument, services);
  if (!id) return;
  if (options.confirm !== false) {
    const answer = await vscode.window.showWarningMessage(`Delete task ${id} and its result and logs?`, { modal: true }, 'Delete');
    if (answer !== 'Delete') return;
  }
  const taskman = await services.connection.get();
  await taskman.delete(id);
  services.taskTree.forget(id);
}
