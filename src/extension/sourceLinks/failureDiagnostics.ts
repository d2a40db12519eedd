import * as vscode from 'vscode';
import { errorMessage, type Logger } from '../../core';
import { CommandId } from '../commandIds';
import type { DatabaseConnection } from '../databaseConnection';
import type { EmbeddedScheduler, EndedTask } from '../embeddedScheduler';
import { failureLocation } from '../taskPage/taskPageModel';

const SOURCE = 'Taskman';

/**
 * A task this window's scheduler ran that failed puts a diagnostic on the line that threw (its
 * first stack frame in the workspace), with a quick fix that opens its task page; the next run of
 * that task that succeeds takes it away. One diagnostic per task name: the latest failure.
 */
export class FailureDiagnostics implements vscode.CodeActionProvider, vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('taskman-failures');
  /** `application.task` → where its latest failure is shown. */
  private readonly shown = new Map<string, { uri: vscode.Uri; diagnostic: vscode.Diagnostic }>();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly connection: DatabaseConnection,
    scheduler: EmbeddedScheduler,
    private readonly logger: Logger,
  ) {
    this.disposables = [this.collection, scheduler.onTaskEnded((ended) => void this.onEnded(ended))];
  }

  private async onEnded({ taskId, state, application, task: name }: EndedTask): Promise<void> {
    if (state !== 'failed' && state !== 'succeeded') return;
    // The usual case, a success with nothing shown for its task, costs no read.
    if (state === 'succeeded' && application && name && !this.shown.has(`${application}.${name}`)) return;
    try {
      const task = await (await this.connection.get()).get(taskId);
      const key = `${task.application}.${task.task}`;
      this.remove(key);
      if (task.state !== 'failed' || !task.error) return;
      const folders = (vscode.workspace.workspaceFolders ?? [])
        .filter((f) => f.uri.scheme === 'file')
        .map((f) => f.uri.fsPath);
      const location = failureLocation(task.error.stack, folders);
      if (!location) return;
      const uri = vscode.Uri.file(location.file);
      const line = Math.max(0, location.line - 1);
      const diagnostic = new vscode.Diagnostic(
        new vscode.Range(line, Math.max(0, location.column - 1), line, Number.MAX_SAFE_INTEGER),
        `${task.task} (task #${task.id}) failed here: ${task.error.name}: ${task.error.message.split('\n')[0]}`,
        vscode.DiagnosticSeverity.Error,
      );
      diagnostic.source = SOURCE;
      diagnostic.code = {
        value: `#${task.id}`,
        target: vscode.Uri.parse(`command:${CommandId.openTask}?${encodeURIComponent(JSON.stringify([task.id]))}`),
      };
      this.shown.set(key, { uri, diagnostic });
      this.render(uri);
    } catch (error) {
      this.logger.debug(`failure diagnostic of task ${taskId}: ${errorMessage(error)}`);
    }
  }

  private remove(key: string): void {
    const old = this.shown.get(key);
    if (!old) return;
    this.shown.delete(key);
    this.render(old.uri);
  }

  private render(uri: vscode.Uri): void {
    const diagnostics = [...this.shown.values()]
      .filter((shown) => shown.uri.fsPath === uri.fsPath)
      .map((shown) => shown.diagnostic);
    this.collection.set(uri, diagnostics);
  }

  /** The quick fix: "Open Task #12". */
  provideCodeActions(
    _document: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    return context.diagnostics
      .filter((diagnostic) => diagnostic.source === SOURCE && typeof diagnostic.code === 'object')
      .map((diagnostic) => {
        const id = String((diagnostic.code as { value: string }).value).replace(/^#/, '');
        const action = new vscode.CodeAction(`Open Task #${id}`, vscode.CodeActionKind.QuickFix);
        action.command = { command: CommandId.openTask, title: `Open Task #${id}`, arguments: [id] };
        action.diagnostics = [diagnostic];
        action.isPreferred = true;
        return action;
      });
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
