import * as vscode from 'vscode';
import {
  backoffDelay,
  type DatabaseTarget,
  defaultDataDir,
  errorMessage,
  type Logger,
  parseDatabaseUrl,
  Taskman,
} from '../core';
import { CommandId } from './commandIds';

function notConfigured(): Error {
  return new Error(
    'No Taskman database is configured. Run "Taskman: Configure Database…" or "Taskman: Use Embedded Database".',
  );
}

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected'; taskman: Taskman }
  /** Unreachable or refused: retried with backoff, and by the Retry action. */
  | { kind: 'unavailable'; error: Error }
  /** No URL set and the embedded database not chosen yet. */
  | { kind: 'not-configured' };

const PASSWORD_SECRET = 'taskman.database.password';
const EMBEDDED_CHOICE = 'taskman.embeddedDatabaseChosen';

/**
 * The extension's one connection to the Taskman database, made lazily on first use. The URL comes
 * from settings, the password from SecretStorage. While the database is unreachable it retries
 * with backoff (no crash loop) and reports its state to the views.
 */
export class DatabaseConnection implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ConnectionState>();
  readonly onDidChange = this.changed.event;
  private current: ConnectionState = { kind: 'connecting' };
  private pending: Promise<Taskman> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private generation = 0;
  private errorShown = false;
  /** The first-run question is asked once a window: declined or dismissed, it stays unasked. */
  private embeddedOffered = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly logger: Logger,
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  /**
   * The connected client; connects first if needed. Rejects with a clear error when it cannot.
   * Not configured, it rejects at once until the user configures a database (no retry loop).
   */
  get(): Promise<Taskman> {
    if (this.current.kind === 'connected') return Promise.resolve(this.current.taskman);
    if (this.current.kind === 'not-configured') return Promise.reject(notConfigured());
    if (!this.pending) {
      const attempt: Promise<Taskman> = this.connect().finally(() => {
        if (this.pending === attempt) this.pending = undefined;
      });
      this.pending = attempt;
    }
    return this.pending;
  }

  /** Drops the connection and connects again with the current settings and password. */
  async reconnect(): Promise<void> {
    this.generation++;
    this.errorShown = false;
    this.failures = 0;
    // An attempt in flight is of the old settings: it closes what it made; this one starts anew.
    this.pending = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const old = this.current;
    this.setState({ kind: 'connecting' });
    if (old.kind === 'connected') await old.taskman.close().catch(() => undefined);
    await this.get().catch(() => undefined);
  }

  async storePassword(password: string): Promise<void> {
    await this.context.secrets.store(PASSWORD_SECRET, password);
  }

  async chooseEmbedded(): Promise<void> {
    await this.context.globalState.update(EMBEDDED_CHOICE, true);
    const config = vscode.workspace.getConfiguration('taskman');
    // Changing the setting reconnects (the extension listens for it); otherwise reconnect here.
    if (config.get<string>('database.url')) await config.update('database.url', '', vscode.ConfigurationTarget.Global);
    else await this.reconnect();
  }

  private async target(): Promise<DatabaseTarget | 'embedded' | undefined> {
    const url = vscode.workspace.getConfiguration('taskman').get<string>('database.url', '').trim();
    if (!url) return this.context.globalState.get<boolean>(EMBEDDED_CHOICE) ? 'embedded' : undefined;
    const target = parseDatabaseUrl(url);
    if (target.password) {
      throw new Error(
        'The setting taskman.database.url contains a password. Remove it from the URL and use "Taskman: Set Database Password…": settings are not a safe place for secrets.',
      );
    }
    const password = await this.context.secrets.get(PASSWORD_SECRET);
    return { ...target, password: password || undefined };
  }

  private async connect(): Promise<Taskman> {
    const generation = this.generation;
    this.setState({ kind: 'connecting' });
    try {
      const target = await this.target();
      if (target === undefined) {
        // The view's welcome content offers the same choice, so the question need not be answered.
        this.setState({ kind: 'not-configured' });
        this.offerEmbedded();
        throw notConfigured();
      }
      const tablePrefix = vscode.workspace.getConfiguration('taskman').get<string>('database.tablePrefix') || undefined;
      const taskman = await Taskman.connect({
        target: target === 'embedded' ? undefined : target,
        embedded: { dataDir: defaultDataDir() },
        tablePrefix,
        connectRetries: 0,
        logger: this.logger,
      });
      if (generation !== this.generation) {
        await taskman.close();
        return this.get();
      }
      this.failures = 0;
      this.errorShown = false;
      this.logger.info(`connected to ${taskman.database.describe()}${taskman.embedded ? ' (embedded database)' : ''}`);
      this.setState({ kind: 'connected', taskman });
      return taskman;
    } catch (error) {
      if (this.current.kind !== 'not-configured') this.unavailable(error as Error, generation);
      throw error;
    }
  }

  /** Asked once a window, without waiting for the answer; "Use Embedded" is remembered. */
  private offerEmbedded(): void {
    if (this.embeddedOffered) return;
    this.embeddedOffered = true;
    const use = 'Use Embedded Database';
    const configure = 'Configure Database…';
    void vscode.window
      .showInformationMessage(
        'Taskman has no database configured. Use the embedded one (a private MariaDB/MySQL server on this machine, shared with the taskman command)?',
        use,
        configure,
      )
      .then((answer) => {
        if (answer === use) void vscode.commands.executeCommand(CommandId.useEmbeddedDatabase);
        if (answer === configure) void vscode.commands.executeCommand(CommandId.configureDatabase);
      });
  }

  private unavailable(error: Error, generation: number): void {
    if (generation !== this.generation) return;
    this.setState({ kind: 'unavailable', error });
    this.logger.warn(`database unavailable: ${errorMessage(error)}`);
    const delay = backoffDelay(this.failures++, 2000, 30_000);
    this.retryTimer = setTimeout(() => void this.get().catch(() => undefined), delay);
    if (this.errorShown) return;
    this.errorShown = true;
    void vscode.window
      .showErrorMessage(`Taskman: ${errorMessage(error)}`, 'Retry', 'Configure Database…')
      .then((answer) => {
        if (answer === 'Retry') void this.reconnect();
        if (answer === 'Configure Database…') void vscode.commands.executeCommand(CommandId.configureDatabase);
      });
  }

  private setState(state: ConnectionState): void {
    const same = state.kind === this.current.kind && state.kind !== 'connected' && state.kind !== 'unavailable';
    this.current = state;
    void vscode.commands.executeCommand('setContext', 'taskman.database', state.kind);
    if (!same) this.changed.fire(state);
  }

  async dispose(): Promise<void> {
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.changed.dispose();
    if (this.current.kind === 'connected') await this.current.taskman.close();
  }
}
