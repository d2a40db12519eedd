import * as path from 'node:path';
import * as vscode from 'vscode';
import { type ApplicationConfig, errorMessage, listApplicationTasks, type Logger } from '../../core';
import { CommandId } from '../commandIds';
import type { RunTaskArguments } from '../commands/runTask';
import type { WorkspaceApplications } from '../workspaceApplications';
import { type ExportDeclaration, exportDeclarations } from './taskDeclarations';

/** Folders of dependencies and built output: their copies of task functions get no lens. */
const NOT_SOURCE_FOLDERS = new Set(['node_modules', 'dist', 'out', 'build', '.venv', 'venv', 'site-packages']);
/** Auto-save writes often: the task names are read again this long after the last save. */
const RELIST_AFTER_SAVE_MS = 1500;

export const TASK_SOURCE_SELECTOR: vscode.DocumentSelector = [
  'javascript',
  'typescript',
  'javascriptreact',
  'typescriptreact',
  'python',
].map((language) => ({ language, scheme: 'file' }));

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
  private forgetTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly applications: WorkspaceApplications,
    private readonly logger: Logger,
  ) {
    this.disposables = [
      this.changed,
      applications.onDidChange(() => this.forgetNames()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.forgetNames()),
      // A saved module may export other tasks now: read them again, once the saves calm down.
      vscode.workspace.onDidSaveTextDocument((document) => this.appOf(document.uri) && this.forgetNamesSoon()),
      vscode.workspace.onDidCloseTextDocument((document) => this.lastParsed.delete(document.uri.toString())),
    ];
  }

  private forgetNames(): void {
    if (this.forgetTimer) clearTimeout(this.forgetTimer);
    this.forgetTimer = undefined;
    this.taskNames.clear();
    this.changed.fire();
  }

  private forgetNamesSoon(): void {
    if (this.forgetTimer) clearTimeout(this.forgetTimer);
    this.forgetTimer = setTimeout(() => this.forgetNames(), RELIST_AFTER_SAVE_MS);
  }

  /**
   * The application a source file belongs to: its tasks module, or a file of its folder that is
   * not a dependency or built output (a compiled copy of a task would get a lens of its own).
   */
  private appOf(uri: vscode.Uri): ApplicationConfig | undefined {
    if (uri.scheme !== 'file') return undefined;
    const app = this.applications.valid().find((candidate) => uri.fsPath.startsWith(candidate.root + path.sep));
    if (!app) return undefined;
    if (uri.fsPath === app.tasks) return app;
    const parts = path.relative(app.root, uri.fsPath).split(path.sep);
    return parts.slice(0, -1).some((part) => NOT_SOURCE_FOLDERS.has(part)) ? undefined : app;
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
          new vscode.CodeLens(range, {
            title: '▶ Run',
            tooltip: `Run the task ${declaration.name} of ${app.name}`,
            command: CommandId.runTask,
            arguments: [args],
          }),
          new vscode.CodeLens(range, {
            title: 'Debug',
            tooltip: `Debug the task ${declaration.name} of ${app.name}`,
            command: CommandId.debugTask,
            arguments: [args],
          }),
        ];
      });
  }

  dispose(): void {
    if (this.forgetTimer) clearTimeout(this.forgetTimer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
