import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TaskmanExtensionApi, TaskmanTestHooks } from '../../../src/extension/api';
import type { TaskTreeNode } from '../../../src/extension/views/taskTree';
import type { Task } from '../../../src/core';
import { waitFor as sharedWaitFor } from '../../helpers/wait';

/** The extension's exports as the suites have them: VS Code runs the extension under tests, so with its test hooks. */
export type SuiteApi = TaskmanExtensionApi & { testing: TaskmanTestHooks };

function hasTestHooks(api: TaskmanExtensionApi): api is SuiteApi {
  return api.testing !== undefined;
}

export async function extensionApi(): Promise<SuiteApi> {
  const extension = vscode.extensions.getExtension<TaskmanExtensionApi>('taskman.taskman');
  assert.ok(extension, 'the Taskman extension is installed');
  const api = extension.isActive ? extension.exports : await extension.activate();
  assert.ok(hasTestHooks(api), 'the extension runs under tests (ExtensionMode.Test), with its test hooks');
  return api;
}

/** The shared bounded wait, with the suite's longer default for a busy extension host. */
export function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  return sharedWaitFor(what, check, { timeoutMs, intervalMs: 50 });
}

/** The task as the Tasks view shows it now (undefined when it is not in the tree). */
export function taskInTree(api: SuiteApi, id: string): { task: Task; item: vscode.TreeItem } | undefined {
  const tree = api.testing.taskTree;
  for (const group of tree.getChildren()) {
    for (const node of tree.getChildren(group)) {
      if (node.kind === 'task' && node.task.id === id)
        return { task: node.task, item: tree.getTreeItem(node as TaskTreeNode) };
    }
  }
  return undefined;
}

/** Runs a short task with *Run Task* as soon as the window takes submissions again (after an outage); its id. */
export function runTaskOnceBack(): Promise<string> {
  return waitFor(
    'a submission to go through again',
    () =>
      Promise.resolve(
        vscode.commands.executeCommand<string>('taskman.runTask', { task: 'countTo', payload: { n: 1, stepMs: 10 } }),
      ).catch(() => undefined),
    60_000,
  );
}
