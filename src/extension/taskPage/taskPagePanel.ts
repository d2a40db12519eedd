import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorMessage, isEnded, type Task, TaskNotFoundError } from '../../core';
import { CommandId } from '../commandIds';
import type { ExtensionServices } from '../services';
import { webviewPage } from '../webviewPage';
import { taskPageModel, taskPageTitle } from './taskPageModel';
import type { PageRequest, PageUpdate, TaskPageModel } from './taskPageProtocol';

/** While a task runs its page refreshes this often; once ended, slowly (its reruns may change). */
const RUNNING_REFRESH_MS = 1000;
const ENDED_REFRESH_MS = 5000;

/**
 * One task's page: a webview that shows the task live while it is visible, and acts on it.
 * All data goes to the page as messages; the page renders with textContent only.
 */
export class TaskPagePanel implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private model: TaskPageModel | undefined;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last message sent, for tests. */
  lastUpdate: PageUpdate | undefined;

  constructor(
    readonly taskId: string,
    readonly panel: vscode.WebviewPanel,
    private readonly services: ExtensionServices,
    private readonly onDisposed: () => void,
  ) {
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(services.context.extensionUri, 'dist', 'webview')],
    };
    webview.html = this.html(webview);
    this.disposables.push(
      webview.onDidReceiveMessage((request: PageRequest) => void this.handle(request)),
      panel.onDidChangeViewState(() => this.schedule(0)),
      panel.onDidDispose(() => this.dispose()),
      services.taskDebugger.onDidChangePaused(() => this.schedule(0)),
    );
  }

  reveal(): void {
    this.panel.reveal();
    this.schedule(0);
  }

  /** Refreshes soon (now with 0); only while the page is visible. */
  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || !this.panel.visible) return;
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }

  async refresh(): Promise<void> {
    let next = ENDED_REFRESH_MS;
    try {
      const taskman = await this.services.connection.get();
      const task = await taskman.get(this.taskId);
      const rerunOf = task.rerunOf ? await this.link(task.rerunOf) : null;
      const reruns = (await taskman.list({ rerunOf: task.id, limit: 20 })).map((rerun) => ({
        id: rerun.id,
        state: rerun.state,
      }));
      // Only a task that ran more than once has earlier attempts: no read for the others.
      const attempts =
        task.attempt > 1 || (task.attempt === 1 && task.state === 'pending') ? await taskman.attempts(task.id) : [];
      // Closed while it read: nothing to show it on.
      if (this.disposed) return;
      this.model = taskPageModel(task, {
        folders: (vscode.workspace.workspaceFolders ?? [])
          .filter((f) => f.uri.scheme === 'file')
          .map((f) => f.uri.fsPath),
        ownPaths: [path.join(this.services.context.extensionUri.fsPath, 'dist') + path.sep],
        trusted: vscode.workspace.isTrusted,
        paused: this.services.taskDebugger.isPaused(task.id),
        rerunOf,
        reruns,
        attempts,
        now: new Date(),
      });
      this.panel.title = taskPageTitle(task);
      this.post({ type: 'task', model: this.model });
      if (!isEnded(task.state)) next = RUNNING_REFRESH_MS;
    } catch (error) {
      if (error instanceof TaskNotFoundError) {
        this.post({ type: 'gone', message: `Task ${this.taskId} does not exist any more: it was deleted or purged.` });
        return;
      }
      this.post({ type: 'unavailable', message: `Cannot refresh: ${errorMessage(error)} — retrying.` });
      next = RUNNING_REFRESH_MS * 2;
    }
    this.schedule(next);
  }

  private async link(id: string): Promise<{ id: string; state: Task['state'] } | null> {
    const taskman = await this.services.connection.get();
    return taskman.get(id).then(
      (task) => ({ id: task.id, state: task.state }),
      (error: unknown) => {
        if (error instanceof TaskNotFoundError) return null;
        throw error;
      },
    );
  }

  private post(update: PageUpdate): void {
    if (this.disposed) return;
    this.lastUpdate = update;
    void this.panel.webview.postMessage(update);
  }

  /** Runs a request from the page; a failure shows on the page's banner and as a message. */
  async handle(request: PageRequest): Promise<void> {
    try {
      await this.run(request);
    } catch (error) {
      this.services.logger.error(`task page ${this.taskId}: ${errorMessage(error)}`);
      void vscode.window.showErrorMessage(`Taskman: ${errorMessage(error)}`);
    }
  }

  private async run(request: PageRequest): Promise<void> {
    switch (request.type) {
      case 'ready':
        return this.refresh();
      case 'openTask':
        await vscode.commands.executeCommand(CommandId.openTask, request.id);
        return;
      case 'openFrame': {
        const location = this.model?.frames[request.index]?.location;
        if (!location) return;
        const position = new vscode.Position(Math.max(0, location.line - 1), Math.max(0, location.column - 1));
        await vscode.window.showTextDocument(vscode.Uri.file(location.file), {
          selection: new vscode.Range(position, position),
          viewColumn: vscode.ViewColumn.One,
        });
        return;
      }
      case 'rerunWithPayload': {
        if (!vscode.workspace.isTrusted)
          throw new Error('Taskman runs no workspace code in an untrusted workspace: trust it to rerun a task.');
        let payload: unknown;
        try {
          payload = JSON.parse(request.payloadText);
        } catch (error) {
          this.post({ type: 'payloadError', message: `Not valid JSON, nothing was submitted: ${errorMessage(error)}` });
          return;
        }
        const taskman = await this.services.connection.get();
        const rerun = await taskman.rerun(this.taskId, { payload });
        this.services.notifier.watch(rerun.id);
        await vscode.commands.executeCommand(CommandId.openTask, rerun.id);
        return;
      }
      case 'action':
        return this.act(request.action);
    }
  }

  /** The page's buttons run the same commands as the tree, which show their own errors. */
  private async act(action: 'abort' | 'rerun' | 'debugRerun' | 'copyId' | 'delete'): Promise<void> {
    const command = {
      abort: CommandId.abortTask,
      copyId: CommandId.copyTaskId,
      debugRerun: CommandId.debugRerun,
      delete: CommandId.deleteTask,
      rerun: CommandId.rerunTask,
    }[action];
    try {
      const result = await vscode.commands.executeCommand<unknown>(command, this.taskId);
      if (action === 'rerun' && typeof result === 'string')
        await vscode.commands.executeCommand(CommandId.openTask, result);
    } catch (error) {
      this.services.logger.debug(`task page ${this.taskId}: ${action}: ${errorMessage(error)}`);
    }
    this.schedule(0);
  }

  private html(webview: vscode.Webview): string {
    const asset = (name: string) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, 'dist', 'webview', name));
    return webviewPage(webview, {
      title: `Task ${this.taskId}`,
      script: asset('taskPage.js'),
      style: asset('taskPage.css'),
      body: `<main id="page" aria-live="polite"><p class="loading">Loading task ${this.taskId}…</p></main>`,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
    this.panel.dispose();
    this.onDisposed();
  }
}
