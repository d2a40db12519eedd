import * as vscode from 'vscode';
import type { ExtensionServices } from '../services';
import { saveView } from './filterTasks';

/** Shows only the tasks matching an id or text in their name, payload or error; empty shows all. */
export async function searchTasks(services: ExtensionServices, text?: string): Promise<void> {
  const search =
    text ??
    (await vscode.window.showInputBox({
      title: 'Taskman: Search Tasks',
      prompt: 'A task id (243 or #243), or text in the task name, payload or error. Empty: show all.',
      value: services.taskTree.filter.search ?? '',
      validateInput: (value) => (value.trim().length > 200 ? 'A search is at most 200 characters.' : undefined),
    }));
  if (search === undefined) return;
  await saveView(
    services,
    { ...services.taskTree.filter, search: search.trim() || undefined },
    services.taskTree.grouping,
  );
}
