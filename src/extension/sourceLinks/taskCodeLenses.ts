import * as path from 'node:path';
import * as vscode from 'vscode';
import { ApplicationConfig, errorMessage, listApplicationTasks, Logger } from '../../core';
import { CommandId } from '../commandIds';
import { RunTaskArguments } from '../commands/runTask';
import { WorkspaceApplications } from '../workspaceApplications';
import { ExportDeclaration, exportDeclarations } from './taskDeclarations';

export const TASK_SOURCE_SELECTOR: vscode.DocumentSelector = ['javascript', 'typescript', 'javascriptreact', 'typescriptreact'].map((language) => ({ language, scheme: 'file' }));

/**
 * `▶ Run | Debug` above each exported function of an application that is one of its tasks. The
 * task names come from the tasks module, read in a child process; the positions from parsing the
 * document's text: workspace code never runs in the extension host. A file that does not parse
 * (mid-edit) keeps the lenses of its last version that did.
 */
export class TaskCodeLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly taskNames = new Map<string, Promise<Set<string>>>();
  private readonly lastParsed = new Map<string, ExportDeclaration[]>();
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly applications: WorkspaceApplications, private readonly logger: Logger) {
    this.disposables = [
      this.changed,
      applications.onDidChange(() => this.forgetNames()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.forgetNames()),
      // A saved module may export other tasks now.
      vscode.workspace.onDidSaveTextDocument((document) => this.appOf(document.uri) && this.forgetNames()),
      vscode.workspace.onDidCloseTextDocument((document) => this.lastParsed.delete(document.uri.toString())),
    ];
  }

  private forgetNames(): void {
    this.taskNames.clear();
    this.changed.fire();
  }

  private appOf(uri: vscode.Uri): ApplicationConfig | undefined {
    if (uri.scheme !== 'file' || uri.fsPath.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
    return this.applications.valid().find((app) => uri.fsPath.startsWith(app.root + path.sep));
  }

  private names(app: ApplicationConfig): Promise<Set<string>> {
    let names = this.taskNames.get(app.root);
    if (!names) {
      names = listApplicationTasks(app).then(
        (list) => new Set(list),
        (error: unknown) => {
          this.logger.warn(`CodeLens: cannot list the tasks of ${app.name}: ${errorMessage(error)}`);
          return new Set<string>();
        },
      );
      this.taskNames.set(app.root, names);
    }
    return names;
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!vscode.workspace.isTrusted) return [];
    const app = this.appOf(document.uri);
    if (!app) return [];
    const names = await this.names(app);
    if (names.size === 0) return [];
    const key = document.uri.toString();
    let declarations = exportDeclarations(document.getText(), document.fileName);
    if (declarations.length === 0 && document.getText().trim()) declarations = this.lastParsed.get(key) ?? [];
    else this.lastParsed.set(key, declarations);
    return declarations
      .filter((declaration) => names.has(declaration.name))
      .flatMap((declaration) => {
        const range = new vscode.Range(declaration.line, declaration.column, declaration.line, declaration.column);
        const args: RunTaskArguments = { application: app.name, task: declaration.name, askPayload: true };
        return [
          new vscode.CodeLens(range, { title: '▶ Run', tooltip: `Run the task ${declaration.name} of ${app.name}`, command: CommandId.runTask, arguments: [args] }),
          new vscode.CodeLens(range, { title: 'Debug', tooltip: `Debug the task ${declaration.name} of ${app.name}`, command: CommandId.debugTask, arguments: [args] }),
        ];
      });
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
