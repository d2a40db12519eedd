import * as vscode from 'vscode';
import { errorMessage, type TaskFilter } from '../../core';
import type { ExtensionServices } from '../services';
import type { TaskTreeNode } from '../views/taskTree';

/** "Rerun All Failed" of the view's title: every failed task the view's filter and search match. */
export function rerunFailed(services: ExtensionServices, options: { confirm?: boolean } = {}): Promise<string[]> {
  return rerunFailedOf(services, undefined, options);
}

/** "Rerun All Failed" of a group's menu: the group's failed tasks. */
export function rerunFailedInGroup(
  services: ExtensionServices,
  node?: TaskTreeNode,
  options: { confirm?: boolean } = {},
): Promise<string[]> {
  const group = node ?? services.taskView.selection.find((selected) => selected.kind === 'group');
  if (group?.kind !== 'group')
    throw new Error('Rerun All Failed in a group acts on a group of the Tasks view: right-click one.');
  return rerunFailedOf(services, group, options);
}

/**
 * Every failed task of the group (or of the view) in the database, not only the loaded rows,
 * after saying how many. Returns the new ids.
 */
async function rerunFailedOf(
  services: ExtensionServices,
  node: Extract<TaskTreeNode, { kind: 'group' }> | undefined,
  options: { confirm?: boolean },
): Promise<string[]> {
  const tree = services.taskTree;
  const filter: TaskFilter = { ...tree.filter, states: ['failed'] };
  if (node) {
    if (tree.grouping === 'state' && node.key !== 'failed') return [];
    if (tree.grouping === 'task') filter.task = node.key;
    if (tree.grouping === 'application') filter.applications = [node.key];
  }
  const taskman = await services.connection.get();
  const count = (await taskman.count(filter, 'state')).get('failed') ?? 0;
  const where = node && tree.grouping !== 'state' ? ` of ${node.key}` : '';
  if (count === 0) {
    void vscode.window.showInformationMessage(`Taskman: no failed tasks${where} to rerun.`);
    return [];
  }
  if (options.confirm !== false) {
    const answer = await vscode.window.showWarningMessage(
      `Rerun ${count.toLocaleString('en-US')} failed task${count === 1 ? '' : 's'}${where}?`,
      { modal: true },
      'Rerun',
    );
    if (answer !== 'Rerun') return [];
  }
  // The ids first, then the reruns: a rerun fails too, and must not be rerun again in this pass.
  const ids: string[] = [];
  for (let beforeId: string | undefined; ids.length < count; ) {
    const page = await taskman.list({ ...filter, beforeId, limit: 1000 });
    if (page.length === 0) break;
    ids.push(...page.map((task) => task.id));
    beforeId = page.at(-1)!.id;
  }
  const made: string[] = [];
  const failed: string[] = [];
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Taskman: rerunning ${ids.length} failed tasks` },
    async (progress) => {
      for (const id of ids) {
        try {
          made.push((await taskman.rerun(id)).id);
        } catch (error) {
          failed.push(`${id}: ${errorMessage(error)}`);
        }
        progress.report({ increment: 100 / ids.length });
      }
    },
  );
  await tree.refresh({ full: true });
  if (failed.length)
    throw new Error(`Could not rerun ${failed.length} of ${ids.length}: ${failed.slice(0, 5).join('; ')}`);
  return made;
}
