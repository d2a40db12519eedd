import * as vscode from 'vscode';
import type { TaskGrouping } from '../../core';
import type { ExtensionServices } from '../services';
import { saveView } from './filterTasks';

const GROUPINGS: { value: TaskGrouping; label: string }[] = [
  { value: 'state', label: 'State' },
  { value: 'task', label: 'Task' },
  { value: 'application', label: 'Application' },
];

export async function groupTasks(services: ExtensionServices, grouping?: TaskGrouping): Promise<void> {
  if (grouping !== undefined && !GROUPINGS.some((g) => g.value === grouping)) {
    throw new Error(`Tasks are grouped by ${GROUPINGS.map((g) => g.value).join(', ')}, not "${String(grouping)}".`);
  }
  const chosen =
    grouping ??
    (
      await vscode.window.showQuickPick(
        GROUPINGS.map((g) => ({ ...g, description: g.value === services.taskTree.grouping ? 'current' : undefined })),
        { title: 'Taskman: Group Tasks By' },
      )
    )?.value;
  if (chosen === undefined) return;
  await saveView(services, services.taskTree.filter, chosen);
}
