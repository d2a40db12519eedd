import * as vscode from 'vscode';
import { errorMessage } from '../../core';
import { type ExtensionServices, resolveTaskIds, type TaskArgument } from '../services';

/** Deletes one ended task, or every selected one, after a confirmation naming how many. */
export async function deleteTask(
  services: ExtensionServices,
  argument: TaskArgument | string[],
  selected?: unknown,
  options: { confirm?: boolean } = {},
): Promise<void> {
  const confirm =
    typeof selected === 'object' && selected !== null && !Array.isArray(selected)
      ? (selected as { confirm?: boolean }).confirm
      : options.confirm;
  const ids = await resolveTaskIds(argument, Array.isArray(selected) ? selected : undefined, services);
  if (ids.length === 0) return;
  if (confirm !== false) {
    const what = ids.length === 1 ? `task ${ids[0]}` : `${ids.length} tasks`;
    const answer = await vscode.window.showWarningMessage(
      `Delete ${what} and ${ids.length === 1 ? 'its' : 'their'} result and logs?`,
      { modal: true },
      'Delete',
    );
    if (answer !== 'Delete') return;
  }
  const taskman = await services.connection.get();
  const failed: string[] = [];
  for (const id of ids) {
    try {
      await taskman.delete(id);
      services.taskTree.forget(id);
      services.taskPages.closed(id);
    } catch (error) {
      failed.push(`${id}: ${errorMessage(error)}`);
    }
  }
  if (failed.length) throw new Error(`Could not delete ${failed.join('; ')}`);
}
