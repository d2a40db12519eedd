import * as vscode from 'vscode';
import { ENDED_STATES, parseDuration, type TaskState } from '../../core';
import { validateWith } from '../inputValidation';
import type { ExtensionServices } from '../services';

export interface PurgeArguments {
  olderThan: string;
  states?: TaskState[];
  /** Skip the confirmation that says how many will go (tests, other extensions). */
  confirm?: boolean;
}

/** Deletes ended tasks by state and age, after saying how many it will delete. Returns how many it did. */
export async function purgeEnded(
  services: ExtensionServices,
  args?: PurgeArguments | string,
): Promise<number | undefined> {
  const given = typeof args === 'string' ? { olderThan: args, confirm: false } : args;
  const states = given ? given.states : await pickStates();
  if (states === null) return undefined;
  const olderThan =
    given?.olderThan ??
    (await vscode.window.showInputBox({
      title: 'Taskman: Purge Ended Tasks — age',
      prompt: 'Delete ended tasks that ended longer ago than (e.g. 7d, 12h, 0s for all)',
      value: '7d',
      validateInput: validateWith((value) => parseDuration(value, 'age')),
    }));
  if (olderThan === undefined) return undefined;
  const taskman = await services.connection.get();
  const which = states?.length ? states.join(', ') : 'ended';
  const { count, endedBefore } = await taskman.countPurgeable(olderThan, states);
  if (count === 0) {
    void vscode.window.showInformationMessage(`Taskman: no ${which} tasks older than ${olderThan} to purge.`);
    return 0;
  }
  if (given?.confirm !== false) {
    const answer = await vscode.window.showWarningMessage(
      `Delete ${count.toLocaleString('en-US')} ${which} task${count === 1 ? '' : 's'} older than ${olderThan}, with their results and logs?`,
      { modal: true },
      'Delete',
    );
    if (answer !== 'Delete') return undefined;
  }
  // What was counted, not also what ended while the question was open.
  const purged = await taskman.purge(endedBefore, states);
  void vscode.window.showInformationMessage(
    `Taskman: purged ${purged.toLocaleString('en-US')} ${which} task${purged === 1 ? '' : 's'} older than ${olderThan}.`,
  );
  await services.taskTree.refresh({ full: true });
  return purged;
}

/** The ended states to purge; all of them when none is picked; null when dismissed. */
async function pickStates(): Promise<TaskState[] | undefined | null> {
  const picked = await vscode.window.showQuickPick(
    ENDED_STATES.map((state) => ({ label: state, picked: state !== 'succeeded' })),
    { canPickMany: true, title: 'Taskman: Purge Ended Tasks — which states (none: all ended)' },
  );
  if (!picked) return null;
  return picked.length ? picked.map((item) => item.label as TaskState) : undefined;
}
