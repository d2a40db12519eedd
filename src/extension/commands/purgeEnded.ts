import * as vscode from 'vscode';
import { parseDuration } from '../../core';
import { validateWith } from '../inputValidation';
import { ExtensionServices } from '../services';

export async function purgeEnded(services: ExtensionServices, olderThan?: string): Promise<number | undefined> {
  const age = olderThan ?? (await vscode.window.showInputBox({
    title: 'Taskman: Purge Ended Tasks',
    prompt: 'Delete ended tasks older than (e.g. 7d, 12h, 0s for all)',
    value: '7d',
    validateInput: validateWith((value) => parseDuration(value, 'age')),
  }));
  if (age === undefined) return undefined;
  const taskman = await services.connection.get();
  const purged = await taskman.purge(age);
  void vscode.window.showInformationMessage(`Taskman: purged ${purged} ended task${purged === 1 ? '' : 's'} older than ${age}.`);
  await services.taskTree.refresh({ full: true });
  return purged;
}
