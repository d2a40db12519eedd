import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  type ApplicationConfig,
  CONFIG_FILE_NAME,
  ConfigError,
  errorMessage,
  loadApplicationConfig,
  type Logger,
} from '../core';

export interface WorkspaceApplication {
  folder: vscode.WorkspaceFolder;
  /** The valid config; while the file is invalid, the last valid one (if any) keeps serving. */
  config: ApplicationConfig | undefined;
  error: Error | undefined;
}

/**
 * Each workspace folder with a taskman.config.json is an application. Edits to the file are
 * picked up without a reload. An invalid file gets one diagnostic, and the last valid config keeps
 * running, so a half-typed file auto-saved mid-edit never stops this window's scheduler nor pops a
 * message per save; only a file that was never valid here gets a message, once. The other folders
 * keep working.
 */
export class WorkspaceApplications implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('taskman');
  private readonly disposables: vscode.Disposable[] = [];
  private byFolder = new Map<string, WorkspaceApplication>();
  /** Folders whose invalid config was announced with a message already. */
  private readonly announced = new Set<string>();

  constructor(private readonly logger: Logger) {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${CONFIG_FILE_NAME}`);
    const reload = (uri: vscode.Uri) => {
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (folder && vscode.Uri.joinPath(folder.uri, CONFIG_FILE_NAME).fsPath === uri.fsPath) this.reload();
    };
    this.disposables.push(
      watcher,
      watcher.onDidChange(reload),
      watcher.onDidCreate(reload),
      watcher.onDidDelete(reload),
      vscode.workspace.onDidSaveTextDocument((document) => reload(document.uri)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.reload()),
      this.diagnostics,
      this.changed,
    );
    this.reload();
  }

  /** Every folder that has a config file, valid or not. */
  all(): WorkspaceApplication[] {
    return [...this.byFolder.values()];
  }

  /** The applications whose config is valid. */
  valid(): ApplicationConfig[] {
    return this.all().flatMap((app) => (app.config ? [app.config] : []));
  }

  reload(): void {
    const next = new Map<string, WorkspaceApplication>();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      const file = vscode.Uri.joinPath(folder.uri, CONFIG_FILE_NAME);
      try {
        const config = loadApplicationConfig(folder.uri.fsPath);
        this.diagnostics.delete(file);
        next.set(folder.uri.toString(), { folder, config, error: undefined });
      } catch (error) {
        if (error instanceof ConfigError && error.field === undefined && /not found/.test(error.message)) continue;
        const key = folder.uri.toString();
        const lastValid = this.byFolder.get(key)?.config;
        this.report(file, error as Error, key, lastValid !== undefined);
        next.set(key, { folder, config: lastValid, error: error as Error });
      }
    }
    const before = JSON.stringify(this.summary(this.byFolder));
    this.byFolder = next;
    if (JSON.stringify(this.summary(next)) !== before) {
      this.logger.info(
        `applications: ${
          this.valid()
            .map((a) => `${a.name}@${a.version}`)
            .join(', ') || 'none'
        }`,
      );
      this.changed.fire();
    }
  }

  private summary(map: Map<string, WorkspaceApplication>) {
    return [...map.values()].map((app) => [app.folder.uri.toString(), app.config ?? null, app.error?.message ?? null]);
  }

  private report(file: vscode.Uri, error: Error, folderKey: string, keptLastValid: boolean): void {
    const field = error instanceof ConfigError ? error.field : undefined;
    let range = new vscode.Range(0, 0, 0, 1);
    try {
      const text = fs.readFileSync(file.fsPath, 'utf8');
      const key = field?.split(/[.[]/)[0];
      const at = key ? text.indexOf(`"${key}"`) : -1;
      if (at >= 0) {
        const before = text.slice(0, at).split('\n');
        const line = before.length - 1;
        const character = before[line].length;
        range = new vscode.Range(line, character, line, character + key!.length + 2);
      }
    } catch {
      // Unreadable: the diagnostic stays on the first character.
    }
    const message = errorMessage(error).replace(`${file.fsPath}: `, '');
    const diagnostic = new vscode.Diagnostic(range, message, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'Taskman';
    this.diagnostics.set(file, [diagnostic]);
    this.logger.warn(
      `invalid ${file.fsPath}: ${message}${keptLastValid ? ' (the last valid config keeps running)' : ''}`,
    );
    // While a valid config keeps running the diagnostic is enough: the file is being edited.
    if (keptLastValid || this.announced.has(folderKey)) return;
    this.announced.add(folderKey);
    void vscode.window.showErrorMessage(`Taskman: ${file.fsPath} is invalid: ${message}`);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
