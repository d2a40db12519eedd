import * as vscode from 'vscode';
import {
  type ApplicationConfig,
  errorMessage,
  formatUtc,
  type LatestTick,
  nextTicks,
  type Schedule,
  type ScheduleProblem,
} from '../../core';
import type { DatabaseConnection } from '../databaseConnection';
import type { WorkspaceApplications } from '../workspaceApplications';
import { RefreshWhileVisible, ShownRows } from './visibleRefresh';

/** Last ticks change at most as often as their schedules tick; next runs are computed. */
const REFRESH_MS = 5_000;

/** A row of the Schedules view: a schedule of a workspace application, or one its config cannot run. */
export type ScheduleRow =
  | { kind: 'schedule'; application: string; schedule: Schedule; last: LatestTick | undefined }
  | { kind: 'invalid'; application: string; problem: ScheduleProblem };

/**
 * The Schedules view: the schedules of this workspace's applications, each with its next run and
 * its last tick's task, and the invalid ones with why; refreshed while visible.
 */
export class ScheduleTree implements vscode.TreeDataProvider<ScheduleRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: ScheduleRow[] = [];
  private readonly shown = new ShownRows<ScheduleRow>();
  private view: vscode.TreeView<ScheduleRow> | undefined;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly applications: WorkspaceApplications,
  ) {
    this.disposables.push(
      applications.onDidChange(() => void this.refresh()),
      connection.onDidChange(() => void this.refresh()),
    );
  }

  attach(view: vscode.TreeView<ScheduleRow>): void {
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
    const apps = this.applications.valid();
    const latest = new Map<string, Map<string, LatestTick>>();
    if (this.view) this.view.message = undefined;
    if (this.connection.state.kind === 'connected') {
      try {
        for (const app of apps.filter((a) => a.schedules.length > 0))
          latest.set(app.name, await this.connection.state.taskman.latestTicks(app.name));
      } catch (error) {
        if (this.view) this.view.message = `Cannot read the last ticks: ${errorMessage(error)}`;
      }
    }
    this.rows = apps.flatMap((app) => rowsOf(app, latest.get(app.name)));
    for (const row of this.rows) this.shown.add(row);
    this.changed.fire();
  }

  /** Whether `value` is a row of this view. */
  owns(value: unknown): value is ScheduleRow {
    return this.shown.has(value);
  }

  getChildren(row?: ScheduleRow): ScheduleRow[] {
    return row ? [] : this.rows;
  }

  getTreeItem(row: ScheduleRow): vscode.TreeItem {
    if (row.kind === 'invalid') {
      const item = new vscode.TreeItem(`${row.problem.schedule} — not running`);
      const field = row.problem.field ? `${row.problem.field} ` : '';
      item.description = `${field}${row.problem.message}`;
      const where = row.problem.field ? `${row.problem.schedule}.${row.problem.field}` : row.problem.schedule;
      item.tooltip = `${row.application}: ${where} ${row.problem.message}. Fix it in taskman.config.json; the other schedules run.`;
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      item.contextValue = 'schedule.invalid';
      return item;
    }
    const { schedule, last } = row;
    const [next] = nextTicks(schedule, new Date(), 1);
    const item = new vscode.TreeItem(schedule.name);
    const lastText = last ? `last #${last.taskId} ${last.state ?? 'purged'}` : 'no tick yet';
    item.description = `${schedule.cron} · next ${next ? `${formatUtc(next)} UTC` : 'never'} · ${lastText}`;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${row.application} · ${schedule.name}** runs \`${schedule.task}\`\n\n`);
    md.appendMarkdown(`- cron: \`${schedule.cron}\` in ${schedule.timezone}\n- missed ticks: ${schedule.missed}\n`);
    md.appendMarkdown(
      `- next: ${nextTicks(schedule, new Date(), 3)
        .map((d) => `${formatUtc(d)} UTC`)
        .join(', ')}\n`,
    );
    if (last)
      md.appendMarkdown(
        `- last tick: ${formatUtc(last.tickAt)} UTC → task ${last.taskId} (${last.state ?? 'purged'})\n`,
      );
    item.tooltip = md;
    item.iconPath = new vscode.ThemeIcon('history');
    item.contextValue = 'schedule';
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function rowsOf(app: ApplicationConfig, latest: Map<string, LatestTick> | undefined): ScheduleRow[] {
  return [
    ...app.schedules.map(
      (schedule): ScheduleRow => ({
        kind: 'schedule',
        application: app.name,
        schedule,
        last: latest?.get(schedule.name),
      }),
    ),
    ...app.scheduleProblems.map((problem): ScheduleRow => ({ kind: 'invalid', application: app.name, problem })),
  ];
}
