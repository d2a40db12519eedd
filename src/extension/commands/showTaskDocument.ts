import * as vscode from 'vscode';
import { taskDocumentUri, type TaskDocumentKind } from '../taskDocuments';
import { type ExtensionServices, resolveTaskId, type TaskArgument } from '../services';

/** Opens the task's result, error or logs as a read-only document. */
export function showTaskDocument(kind: TaskDocumentKind) {
  return async (services: ExtensionServices, argument: TaskArgument): Promise<vscode.TextEditor | undefined> => {
    const id = await resolveTaskId(argument, services);
    if (!id) return undefined;
    const task = services.taskTree.shownTask(id) ?? (await (await services.connection.get()).get(id));
    const document = await vscode.workspace.openTextDocument(taskDocumentUri(task, kind));
    return vscode.window.showTextDocument(document, { preview: true });
  };
}
