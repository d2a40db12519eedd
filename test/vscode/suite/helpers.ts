import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ExtensionServices } from '../../../src/extension/services';
import type { TaskTreeNode } from '../../../src/extension/views/taskTree';
import type { Task } from '../../../src/core';
import { waitFor as sharedWaitFor } from '../../helpers/wait';

export async function extensionApi(): Promise<ExtensionServices> {
  const extension = vscode.extensions.getExtension<ExtensionServices>('taskman.taskman');
  assert.ok(extension, 'the Taskman extension is installed');
  return extension.isActive ? extension.exports : extension.activate();
}

/** The shared bounded wait, with the suite's longer default for a busy extension host. */
export function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  return sharedWaitFor(what, check, { timeoutMs, intervalMs: 50 });
}

/** The task as the Tasks view shows it now (undefined when it is not in the tree). */
export function taskInTree(api: ExtensionServices, id: string): { task: Task; item: vscode.TreeItem } | undefined {
  for (const group of api.taskTree.getChildren()) {
    for (const node of api.taskTree.getChildren(group)) {
      if (node.kind === 'task' && node.task.id === id)
        return { task: node.task, item: api.taskTree.getTreeItem(node as TaskTreeNode) };
    }
  }
  return undefined;
}
