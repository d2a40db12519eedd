import * as vscode from 'vscode';
import type { Logger } from '../core';
import type { DashboardPanel } from './dashboard/dashboardPanel';
import type { DatabaseConnection } from './databaseConnection';
import type { EmbeddedScheduler } from './embeddedScheduler';
import type { PausedApplications } from './pausedApplications';
import type { RunningCount } from './runningCount';
import type { TaskDebugger } from './taskDebugger';
import type { TaskEndNotifier } from './taskEndNotifier';
import type { TaskPages } from './taskPage/taskPages';
import type { ScheduleTree } from './views/scheduleTree';
import type { SchedulerTree } from './views/schedulerTree';
import type { TaskTree, TaskTreeNode } from './views/taskTree';
import type { WorkspaceApplications } from './workspaceApplications';

/** What command handlers work with. The extension exports much less: TaskmanExtensionApi (api.ts). */
export interface ExtensionServices {
  context: vscode.ExtensionContext;
  logger: Logger;
  connection: DatabaseConnection;
  applications: WorkspaceApplications;
  scheduler: EmbeddedScheduler;
  taskTree: TaskTree;
  taskView: vscode.TreeView<TaskTreeNode>;
  schedulerTree: SchedulerTree;
  scheduleTree: ScheduleTree;
  notifier: TaskEndNotifier;
  taskDebugger: TaskDebugger;
  taskPages: TaskPages;
  running: RunningCount;
  paused: PausedApplications;
  dashboard: DashboardPanel;
}

/** A command's task argument: a tree node (menus), an id (other commands, tests), or nothing (palette). */
export type TaskArgument = TaskTreeNode | string | undefined;

export async function resolveTaskId(argument: TaskArgument, services: ExtensionServices): Promise<string | undefined> {
  if (typeof argument === 'string') return argument;
  if (argument?.kind === 'task') return argument.task.id;
  const selected = services.taskView.selection.find((node) => node.kind === 'task');
  if (selected?.kind === 'task') return selected.task.id;
  return vscode.window
    .showInputBox({
      title: 'Taskman: task id',
      prompt: 'The id of the task',
      validateInput: (value) =>
        /^#?[1-9]\d{0,19}$/.test(value.trim()) ? undefined : 'A task id is a positive whole number.',
    })
    .then((value) => value?.trim().replace(/^#/, ''));
}

/**
 * The tasks a row command acts on: every selected task when VS Code passes a multi-selection
 * (`selected`, with the clicked row among them), else the one task of `argument`.
 */
export async function resolveTaskIds(
  argument: TaskArgument | string[],
  selected: unknown,
  services: ExtensionServices,
): Promise<string[]> {
  if (Array.isArray(argument)) return argument;
  if (Array.isArray(selected) && selected.length > 1) {
    return selected.flatMap((node) => (services.taskTree.owns(node) && node.kind === 'task' ? [node.task.id] : []));
  }
  const id = await resolveTaskId(argument, services);
  return id ? [id] : [];
}
