import * as vscode from 'vscode';
import { errorMessage, formatUtc, type PausedApplication, type SchedulerInfo } from '../../core';
import type { DatabaseConnection } from '../databaseConnection';
import type { EmbeddedScheduler } from '../embeddedScheduler';
import { RefreshWhileVisible, ShownRows } from './visibleRefresh';

/** Heartbeat ages and running counts, read while the view is visible. */
const REFRESH_MS = 2_000;

/** A row of the Schedulers view: a paused application (first), or a registered scheduler. */
export type SchedulerTreeRow = SchedulerInfo | PausedApplication;

const isPause = (row: SchedulerTreeRow): row is PausedApplication => 'pausedAt' in row;

/**
 * The Schedulers view: the paused applications, then every registered scheduler, this window's
 * marked; refreshed while visible.
 */
export class SchedulerTree implements vscode.TreeDataProvider<SchedulerTreeRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private schedulers: SchedulerInfo[] = [];
  /** Every row this view showed: VS Code may pass one from before the last refresh. */
  private readonly shown = new ShownRows<SchedulerTreeRow>();
  private view: vscode.TreeView<SchedulerTreeRow> | undefined;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly embedded: EmbeddedScheduler,
    private readonly paused: () => readonly PausedApplication[],
  ) {
    this.disposables.push(
      embedded.onDidChange(() => void this.refresh()),
      connection.onDidChange(() => void this.refresh()),
    );
  }

  attach(view: vscode.TreeView<SchedulerTreeRow>): void {
    this.view = view;
    this.disposables.push(
      new RefreshWhileVisible(
        view,
        () => REFRESH_MS,
        () => this.refresh(),
      ),
    );
  }

  async refresh(): Promise<void> {
    if (this.view)
      this.view.message = this.embedded.whyNotRunning()
        ? `This window's scheduler: ${this.embedded.whyNotRunning()}.`
        : undefined;
    if (this.connection.state.kind !== 'connected') {
      // The paused rows go with the connection.
      this.changed.fire();
      return;
    }
    try {
      this.schedulers = await this.connection.state.taskman.listSchedulers();
      for (const info of this.schedulers) this.shown.add(info);
    } catch (error) {
      if (this.view) this.view.message = `Cannot refresh: ${errorMessage(error)}`;
      return;
    }
    this.changed.fire();
  }

  /** Whether `value` is a row of this view (VS Code passes the focused row to title-bar commands). */
  owns(value: unknown): value is SchedulerTreeRow {
    return this.shown.has(value);
  }

  getChildren(node?: SchedulerTreeRow): SchedulerTreeRow[] {
    if (node) return [];
    const paused = [...this.paused()];
    for (const pause of paused) this.shown.add(pause);
    return [...paused, ...this.schedulers];
  }

  getTreeItem(row: SchedulerTreeRow): vscode.TreeItem {
    return isPause(row) ? pausedItem(row) : this.schedulerItem(row);
  }

  private schedulerItem(info: SchedulerInfo): vscode.TreeItem {
    const mine = info.id === this.embedded.current?.id;
    const item = new vscode.TreeItem(`${info.host} · pid ${info.pid}${mine ? ' (this window)' : ''}`);
    item.id = `scheduler:${info.id}`;
    const paused = new Set(this.paused().map((pause) => pause.application));
    const apps = info.applications
      .map((app) => `${app.name}@${app.version}${paused.has(app.name) ? ' (paused)' : ''}`)
      .join(', ');
    const keys = info.heldKeys.length ? ` · holds ${heldKeysText(info.heldKeys)}` : '';
    item.description = `${apps} · ${info.running}/${info.concurrency} running${keys} · heartbeat ${Math.round(info.heartbeatAgeSeconds)}s ago`;
    item.iconPath = new vscode.ThemeIcon(mine ? 'vm-running' : 'vm');
    item.contextValue = mine ? 'scheduler.mine' : 'scheduler';
    item.tooltip = new vscode.MarkdownString(
      `**Scheduler ${info.id}**\n\n- host: ${info.host}\n- pid: ${info.pid}\n- applications: ${apps || 'none'}\n- running: ${info.running} of ${info.concurrency}\n- concurrency keys held: ${info.heldKeys.join(', ') || 'none'}\n- started: ${info.startedAt.toISOString()}\n- last heartbeat: ${info.heartbeatAt.toISOString()}`,
    );
    item.accessibilityInformation = {
      label: `Scheduler ${info.id} on ${info.host} pid ${info.pid}, ${info.running} running${mine ? ', this window' : ''}`,
    };
    return item;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** `key customer:42`, `keys customer:42, customer:7 and 3 more`: the keys without their application when one. */
function heldKeysText(keys: string[]): string {
  const shown = keys.slice(0, 3).map((key) => key.slice(key.indexOf('/') + 1));
  return `key${keys.length > 1 ? 's' : ''} ${shown.join(', ')}${keys.length > 3 ? ` and ${keys.length - 3} more` : ''}`;
}

function pausedItem(pause: PausedApplication): vscode.TreeItem {
  const item = new vscode.TreeItem(`${pause.application} — paused`);
  item.id = `paused:${pause.application}`;
  const since = `${formatUtc(pause.pausedAt)} UTC`;
  item.description = `since ${since}${pause.reason ? ` · ${pause.reason}` : ''}`;
  item.iconPath = new vscode.ThemeIcon('debug-pause');
  item.contextValue = 'application.paused';
  item.tooltip = new vscode.MarkdownString(
    `**${pause.application} is paused** since ${since}${pause.reason ? ` (${pause.reason})` : ''}.\n\nNo scheduler claims its tasks; running ones go on. *Resume Application* lets them run.`,
  );
  item.accessibilityInformation = { label: `Application ${pause.application} is paused` };
  return item;
}
