import * as vscode from 'vscode';
import { errorMessage, type Logger, type TaskStatistics, validStatisticsOptions } from '../../core';
import type {
  DashboardData,
  DashboardWindow,
  FromWebview,
  RenderedSummary,
  ToWebview,
} from '../../webview/dashboardMessages';
import type { DatabaseConnection } from '../databaseConnection';
import type { EmbeddedScheduler } from '../embeddedScheduler';
import { dashboardHtml } from './dashboardHtml';

const VIEW_TYPE = 'taskman.dashboard';
const REFRESH_MS = 5000;

/**
 * The dashboard: one webview panel, made on first open and revealed after. It reads the
 * statistics every 5 s while visible and not at all while hidden. When the database cannot be
 * read the page says so, and the next tick (or the connection coming back) draws the charts again.
 */
export class DashboardPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private chosen: DashboardWindow = { window: 'hour', bucketMinutes: 1 };
  private last: ToWebview | undefined;
  private readonly rendered = new vscode.EventEmitter<RenderedSummary>();
  /** Fires when the page reports what it drew. */
  readonly onDidRender = this.rendered.event;
  /** What the page last reported it shows (tests read it). */
  lastRendered: RenderedSummary | undefined;
  private readonly disposables: vscode.Disposable[] = [this.rendered];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connection: DatabaseConnection,
    private readonly scheduler: EmbeddedScheduler,
    private readonly logger: Logger,
  ) {
    // Connected again (or lost): redraw at once rather than at the next tick.
    this.disposables.push(
      connection.onDidChange(() => {
        if (this.panel?.visible) void this.refresh();
      }),
    );
  }

  /** The open panel, if any. */
  get current(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  /** Whether the 5 s refresh runs (only while the panel is visible). */
  get polling(): boolean {
    return this.timer !== undefined;
  }

  get window(): DashboardWindow {
    return this.chosen;
  }

  open(): vscode.WebviewPanel {
    if (this.panel) {
      this.panel.reveal();
      return this.panel;
    }
    const root = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Taskman Dashboard', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [root, media],
    });
    panel.iconPath = vscode.Uri.joinPath(media, 'taskman.svg');
    panel.webview.html = dashboardHtml(panel.webview, {
      script: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'dashboard.js')),
      style: panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'dashboard.css')),
    });
    this.panel = panel;
    // This panel's listeners go with it, not with the extension: a dashboard opened ten times
    // leaves nothing behind.
    const listeners: vscode.Disposable[] = [];
    panel.onDidChangeViewState(() => this.schedule(), undefined, listeners);
    panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message), undefined, listeners);
    panel.onDidDispose(() => {
      for (const listener of listeners) listener.dispose();
      this.panel = undefined;
      this.lastRendered = undefined;
      this.schedule();
    });
    // The database is reached lazily: opening the dashboard is reason enough to connect.
    void this.connection.get().catch(() => undefined);
    this.schedule();
    return panel;
  }

  /** Chooses the window and bucket size (as the page's buttons do). */
  async choose(window: DashboardWindow): Promise<void> {
    const valid = validStatisticsOptions(window);
    this.chosen = { window: valid.window, bucketMinutes: valid.bucketMinutes };
    // A read of the old window still running posts nothing (see load); read the new one after it.
    await this.inFlight;
    await this.refresh();
  }

  /** Reads the statistics once and posts them (or why it cannot) to the page. */
  refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private schedule(): void {
    const visible = this.panel?.visible === true;
    if (visible && !this.timer) {
      this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
      void this.refresh();
    } else if (!visible && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async load(): Promise<void> {
    if (!this.panel) return;
    const window = this.chosen;
    const state = this.connection.state;
    if (state.kind !== 'connected') {
      const why =
        state.kind === 'unavailable'
          ? `The database is unavailable: ${errorMessage(state.error)} Taskman keeps retrying; the charts come back by themselves.`
          : state.kind === 'not-configured'
            ? 'No database is configured: run "Taskman: Configure Database…" or "Taskman: Use Embedded Database".'
            : 'Connecting to the database…';
      return this.post({ type: 'unavailable', message: why, window });
    }
    try {
      const statistics = await state.taskman.statistics(window);
      // A choice made while this read ran is read by the next one.
      if (window === this.chosen) await this.post({ type: 'statistics', data: this.toData(statistics) });
    } catch (error) {
      this.logger.warn(`dashboard: ${errorMessage(error)}`);
      await this.post({
        type: 'unavailable',
        message: `Cannot read the database: ${errorMessage(error)} Retrying every ${REFRESH_MS / 1000} s.`,
        window,
      });
    }
  }

  private toData(statistics: TaskStatistics): DashboardData {
    const mine = this.scheduler.current?.id;
    return {
      window: statistics.window,
      bucketMinutes: statistics.bucketMinutes,
      now: statistics.now.getTime(),
      buckets: statistics.buckets.map((bucket) => ({ start: bucket.start.getTime(), ended: bucket.ended })),
      queue: statistics.queue,
      tasks: statistics.tasks.map((entry) => ({
        label: `${entry.task} · ${entry.application}`,
        ended: entry.ended,
        failed: entry.byState.failed,
        lost: entry.byState.lost,
        failureRate: entry.failureRate,
        wait: entry.wait,
        run: entry.run,
      })),
      schedulers: statistics.schedulers.map((scheduler) => ({
        label: `${scheduler.host} · pid ${scheduler.pid}${scheduler.id === mine ? ' (this window)' : ''}`,
        running: scheduler.running,
        concurrency: scheduler.concurrency,
        heartbeatAgeSeconds: scheduler.heartbeatAgeSeconds,
      })),
    };
  }

  private async post(message: ToWebview): Promise<void> {
    this.last = message;
    // A page closing meanwhile refuses the message; the next page asks for it again ('ready').
    await this.panel?.webview.postMessage(message).then(undefined, () => false);
  }

  private receive(message: unknown): void {
    const { type } = (message ?? {}) as { type?: unknown };
    if (type === 'ready') {
      // A page made again (after being hidden) gets what it showed at once, then fresh numbers.
      if (this.last) void this.post(this.last);
      void this.refresh();
    } else if (type === 'choose') {
      this.choose((message as Extract<FromWebview, { type: 'choose' }>).window).catch((error) =>
        this.logger.warn(`dashboard: ${errorMessage(error)}`),
      );
    } else if (type === 'rendered') {
      this.lastRendered = (message as Extract<FromWebview, { type: 'rendered' }>).summary;
      this.rendered.fire(this.lastRendered);
    } else {
      this.logger.warn(`dashboard: ignored a message of unknown type ${JSON.stringify(type)} from the page`);
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.panel?.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
