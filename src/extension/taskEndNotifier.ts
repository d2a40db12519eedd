import * as vscode from 'vscode';
import { isEnded, Logger } from '../core';
import { CommandId } from './commandIds';
import { DatabaseConnection } from './databaseConnection';

/** Tells the user when a task started from this window ends, with "Show Result" / "Show Error". */
export class TaskEndNotifier implements vscode.Disposable {
  private readonly watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ended = new vscode.EventEmitter<{ taskId: string; state: string }>();
  readonly onDidNotify = this.ended.event;

  constructor(private readonly connection: DatabaseConnection, private readonly logger: Logger) {}

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
      if (task.state === 'succeeded') {
        void vscode.window.showInformationMessage(`Taskman: ${name} succeeded.`, 'Show Result').then((answer) => answer && vscode.commands.executeCommand(CommandId.showResult, task.id));
      } else {
        const why = task.error ? `: ${task.error.name}: ${task.error.message.split('\n')[0].slice(0, 200)}` : '';
        void vscode.window.showWarningMessage(`Taskman: ${name} ${task.state}${why}`, 'Show Error').then((answer) => answer && vscode.commands.executeCommand(CommandId.showError, task.id));
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
