import * as vscode from 'vscode';
import { validTaskId } from '../../core';
import type { ExtensionServices } from '../services';
import { TaskPagePanel } from './taskPagePanel';

export const TASK_PAGE_VIEW_TYPE = 'taskman.taskPage';

/** The open task pages: one per task, revealed again rather than opened twice. */
export class TaskPages implements vscode.Disposable {
  private readonly pages = new Map<string, TaskPagePanel>();
  private services: ExtensionServices | undefined;

  attach(services: ExtensionServices): void {
    this.services = services;
  }

  open(taskId: string): TaskPagePanel {
    const id = validTaskId(taskId);
    const existing = this.pages.get(id);
    if (existing) {
      existing.reveal();
      return existing;
    }
    if (!this.services) throw new Error('Taskman is still starting; try again in a moment.');
    const panel = vscode.window.createWebviewPanel(TASK_PAGE_VIEW_TYPE, `#${id}`, vscode.ViewColumn.Active, {
      enableFindWidget: true,
      retainContextWhenHidden: false,
    });
    const page = new TaskPagePanel(id, panel, this.services, () => this.pages.delete(id));
    this.pages.set(id, page);
    return page;
  }

  get(taskId: string): TaskPagePanel | undefined {
    return this.pages.get(taskId);
  }

  /** The task is gone (deleted here): its page closes. */
  closed(taskId: string): void {
    this.pages.get(taskId)?.dispose();
  }

  dispose(): void {
    for (const page of [...this.pages.values()]) page.dispose();
  }
}
