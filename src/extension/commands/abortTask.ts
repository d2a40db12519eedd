import * as vscode from 'vscode';
import { errorMessage } from '../../core';
import { type ExtensionServices, resolveTaskIds, type TaskArgument } from '../services';

const REASON = 'aborted from VS Code';

/** Aborts one task, or every selected one; the user asked for it, so no toast tells them it ended. */
export async function abortTask(
  services: ExtensionServices,
  argument: TaskArgument | string[],
  selected?: unknown,
): Promise<void> {
  const ids = await resolveTaskIds(argument, selected, services);
  if (ids.length === 0) return;
  const taskman = await services.connection.get();
  const ended: string[] = [];
  const failed: string[] = [];
  for (const id of ids) {
    services.notifier.expectEnd(id, 'aborted');
    try {
      const result = await taskman.abort(id, REASON);
      if (result.outcome === 'already-ended') ended.push(`${id} (${result.state})`);
    } catch (error) {
      failed.push(`${id}: ${errorMessage(error)}`);
    }
    // Our own scheduler need not wait for its next poll.
    services.scheduler.current?.abortTask(id, REASON);
  }
  if (ended.length)
    void vscode.window.showInformationMessage(
      `Taskman: task${ended.length === 1 ? '' : 's'} ${ended.join(', ')} had already ended.`,
    );
  await services.taskTree.refresh();
  if (failed.length) throw new Error(`Could not abort ${failed.join('; ')}`);
}
