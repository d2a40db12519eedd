import * as vscode from 'vscode';
import { type EndedState, isEnded, type Logger } from '../core';
import { CommandId } from './commandIds';
import type { DatabaseConnection } from './databaseConnection';

/** Tells the user when a task started from this window ends, with "Open Task" to see its page. */
export class TaskEndNotifier implements vscode.Disposable {
  private readonly watched = new Set<string>();
  /** Ends this window asked for (an abort): the user knows, so the status bar says it, not a toast. */
  private readonly expected = new Map<string, EndedState>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ended = new vscode.EventEmitter<{ taskId: string; state: EndedState }>();
  readonly onDidNotify = this.ended.event;

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly logger: Logger,
  ) {}

  /** The user asked for this end (e.g. aborted the task): when it comes, no toast. */
  expectEnd(taskId: string, state: EndedState): void {
    if (this.watched.has(taskId)) this.expected.set(taskId, state);
  }

  watch(taskId: string): void {
    this.watched.add(taskId);
    this.timer ??= setInterval(() => void this.check(), 1000);
  }

  private async check(): Promise<void> {
    if (this.connection.state.kind !== 'connected') return;
    const taskman = this.connection.state.taskman;
    for (const taskId of [...this.watched]) {
      const task = await taskman.get(taskId).catch(() => undefined);
      if (!task || !isEnded(task.state)) continue;
      this.watched.delete(taskId);
      this.ended.fire({ taskId, state: task.state });
      const name = `${task.application} · ${task.task} (#${task.id})`;
      const expected = this.expected.get(taskId) === task.state;
      this.expected.delete(taskId);
      if (expected) {
        vscode.window.setStatusBarMessage(`Taskman: ${name} ${task.state}`, 5000);
      } else if (task.state === 'succeeded') {
        void vscode.window
          .showInformationMessage(`Taskman: ${name} succeeded.`, 'Open Task')
          .then((answer) => answer && vscode.commands.executeCommand(CommandId.openTask, task.id));
      } else {
        const why = task.error ? `: ${task.error.name}: ${task.error.message.split('\n')[0].slice(0, 200)}` : '';
        void vscode.window
          .showWarningMessage(`Taskman: ${name} ${task.state}${why}`, 'Open Task')
          .then((answer) => answer && vscode.commands.executeCommand(CommandId.openTask, task.id));
      }
      this.logger.info(`task ${task.id} started from this window ended: ${task.state}`);
    }
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.ended.dispose();
  }
}
