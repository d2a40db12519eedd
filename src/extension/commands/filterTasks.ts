import * as vscode from 'vscode';
import { TASK_STATES, type TaskGrouping, type TaskState } from '../../core';
import type { ExtensionServices } from '../services';
import type { TaskFilterState } from '../views/taskTree';

const VIEW_KEY = 'taskman.view';

interface SavedView {
  filter: TaskFilterState;
  grouping: TaskGrouping;
}

export async function filterTasks(services: ExtensionServices, filter?: TaskFilterState): Promise<void> {
  let chosen = filter;
  if (!chosen) {
    const current = services.taskTree.filter;
    const apps = new Set([
      ...services.applications.valid().map((a) => a.name),
      ...services.taskTree.shownTasks().map((t) => t.application),
      ...(current.applications ?? []),
    ]);
    const items: (vscode.QuickPickItem & { value: { kind: 'state' | 'app'; name: string } })[] = [
      ...TASK_STATES.map((state) => ({
        label: state,
        description: 'state',
        picked: current.states?.includes(state) ?? false,
        value: { kind: 'state' as const, name: state },
      })),
      ...[...apps].sort().map((name) => ({
        label: name,
        description: 'application',
        picked: current.applications?.includes(name) ?? false,
        value: { kind: 'app' as const, name },
      })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: 'Taskman: show only these states and applications (none: all)',
    });
    if (!picked) return;
    const states = picked.filter((p) => p.value.kind === 'state').map((p) => p.value.name as TaskState);
    const applications = picked.filter((p) => p.value.kind === 'app').map((p) => p.value.name);
    chosen = {
      states: states.length ? states : undefined,
      applications: applications.length ? applications : undefined,
      search: current.search,
    };
  }
  await saveView(services, chosen, services.taskTree.grouping);
}

/** The filter, search and grouping, kept per workspace, and shown. */
export async function saveView(
  services: ExtensionServices,
  filter: TaskFilterState,
  grouping: TaskGrouping,
): Promise<void> {
  await services.context.workspaceState.update(VIEW_KEY, { filter, grouping } satisfies SavedView);
  await services.taskTree.show(filter, grouping);
}

export function savedView(context: vscode.ExtensionContext): SavedView {
  const saved = context.workspaceState.get<Partial<SavedView>>(VIEW_KEY);
  return { filter: saved?.filter ?? {}, grouping: saved?.grouping ?? 'state' };
}
