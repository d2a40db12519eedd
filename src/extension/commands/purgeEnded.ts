import * as vscode from 'vscode';
import { errorMessage, parseDuration } from '../../core';
import { ExtensionServices } from '../services';

export async function purgeEnded(services: ExtensionServices, olderThan?: string): Promise<number | undefined> {
  const age = olderThan ?? (await vscode.window.showInputBox({
    title: 'Taskman: Purge Ended Tasks',
    prompt: 'Delete ended tasks older than (e.g. 7d, 12h, 0s for all)',
    value: '7d',
    validateInput: (value) => {
      try {
        parseDuration(value, 'age');
        return undefined;
      } catch (error) {
        return errorMessage(error);
      }
    },
  }));
  if (age === undefined) return undefined;
  const taskman = await services.connection.get();
  const purged = await taskman.purge(age);
  void vscode.window.showInformationMessage(`Taskman: purged ${purged} ended task${purged === 1 ? '' : 's'} older than ${age}.`);
  await services.taskTree.refresh({ full: true });
  return purged;
}
