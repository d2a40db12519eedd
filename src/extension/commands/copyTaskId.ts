import * as vscode from 'vscode';
import { type ExtensionServices, resolveTaskId, type TaskArgument } from '../services';

export async function copyTaskId(services: ExtensionServices, argument: TaskArgument): Promise<void> {
  const id = await resolveTaskId(argument, services);
  if (id) await vscode.env.clipboard.writeText(id);
}
