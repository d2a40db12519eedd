import * as vscode from 'vscode';
import { ExtensionServices, resolveTaskId, TaskArgument } from '../services';

export async function abortTask(services: ExtensionServices, argument: TaskArgument): Promise<void> {
  const id = await resolveTaskId(argument, services);
  if (!id) return;
  const taskman = await services.connection.get();
  const result = await taskman.abort(id, 'aborted from VS Code');
  // Our own scheduler need not wait for its next poll.
  services.scheduler.current?.abortTask(id, 'aborted from VS Code');
  if (result.outcome === 'already-ended') void vscode.window.showInformationMessage(`Taskman: task ${id} had already ended (${result.state}).`);
  await services.taskTree.refresh();
}
