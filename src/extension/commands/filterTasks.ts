import * as vscode from 'vscode';
import { TASK_STATES, TaskState } from '../../core';
import { ExtensionServices } from '../services';
import { TaskFilterState } from '../views/taskTree';

const FILTER_KEY = 'taskman.filter';

export async function filterTasks(services: ExtensionServices, filter?: TaskFilterState): Promise<void> {
  let chosen = filter;
  if (!chosen) {
    const current = services.taskTree.filter;
    const apps = new Set([...services.applications.valid().map((a) => a.name), ...services.taskTree.shownTasks().map((t) => t.application), ...(current.applications ?? [])]);
    const items: (vscode.QuickPickItem & { value: { kind: 'state' | 'app'; name: string } })[] = [
      ...TASK_STATES.map((state) => ({ label: state, description: 'state', picked: current.states?.includes(state) ?? false, value: { kind: 'state' as const, name: state } })),
      ...[...apps].sort().map((name) => ({ label: name, description: 'application', picked: current.applications?.includes(name) ?? false, value: { kind: 'app' as const, name } })),
    ];
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Taskman: show only these states and applications (none: all)' });
    if (!picked) return;
    const states = picked.filter((p) => p.value.kind === 'state').map((p) => p.value.name as TaskState);
    const applications = picked.filter((p) => p.value.kind === 'app').map((p) => p.value.name);
    chosen = { states: states.length ? states : undefined, applications: applications.length ? applications : undefined };
  }
  await services.context.workspaceState.update(FILTER_KEY, chosen);
  await services.taskTree.setFilter(chosen);
}

export function savedFilter(context: vscode.ExtensionContext): TaskFilterState {
  return context.workspaceState.get<TaskFilterState>(FILTER_KEY) ?? {};
}
