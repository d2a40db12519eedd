import * as vscode from 'vscode';
import { errorMessage, Task, TaskState } from '../../core';
import { DatabaseConnection } from '../databaseConnection';
import { STATE_ORDER, stateIcon, stateLabel, taskDescription, taskTooltip } from './taskPresentation';

export type TaskTreeNode = { kind: 'group'; state: TaskState } | { kind: 'task'; task: Task };

export interface TaskFilterState {
  states?: TaskState[];
  applications?: string[];
}

const MAX_TASKS = 300;
/** Rows committed late can carry an updated_at slightly older than one already seen. */
const CURSOR_OVERLAP_MS = 2000;
/** Every so many refreshes, a full reload also drops tasks deleted by other clients. */
const FULL_RELOAD_EVERY = 15;

/**
 * The Tasks view: tasks grouped by state, newest first. It refreshes only while visible, and
 * after the first load fetches only the rows changed since the last refresh.
 */
export class TaskTree implements vscode.TreeDataProvider<TaskTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TaskTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly refreshed = new vscode.EventEmitter<void>();
  /** Fires after each refresh that reached the database (tests and the status bar listen). */
  readonly onDidRefresh = this.refreshed.event;
  private readonly tasks = new Map<string, Task>();
  private cursor: Date | undefined;
  private refreshCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private view: vscode.TreeView<TaskTreeNode> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  filter: TaskFilterState = {};
  private readonly groupNodes = Object.fromEntries(STATE_ORDER.map((state) => [state, { kind: 'group', state }])) as Record<TaskState, TaskTreeNode>;

  constructor(private readonly connection: DatabaseConnection) {
    this.disposables.push(
      this.changed,
      this.refreshed,
      connection.onDidChange(() => {
        this.updateMessage();
        if (connection.state.kind === 'connected') void this.refresh({ full: true });
      }),
      vscode.workspace.onDidChangeConfiguration((event) => event.affectsConfiguration('taskman.view.refreshInterval') && this.schedule()),
    );
  }

  attach(view: vscode.TreeView<TaskTreeNode>): void {
    this.view = view;
    this.disposables.push(view.onDidChangeVisibility(() => this.schedule()));
    this.schedule();
    this.updateMessage();
  }

  /** All tasks currently shown, newest first. */
  shownTasks(): Task[] {
    return [...this.tasks.values()].sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));
  }

  runningCount(): number {
    return this.shownTasks().filter((task) => task.state === 'running').length;
  }

  setFilter(filter: TaskFilterState): Promise<void> {
    this.filter = filter;
    const parts = [filter.applications?.join(', '), filter.states?.join(', ')].filter(Boolean);
    if (this.view) this.view.description = parts.length ? `filtered: ${parts.join(' · ')}` : undefined;
    return this.refresh({ full: true });
  }

  /** Polls only while the view is visible. */
  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.view?.visible) return;
    const interval = vscode.workspace.getConfiguration('taskman').get<number>('view.refreshInterval', 1000);
    this.timer = setInterval(() => void this.refresh(), Math.max(200, interval));
    void this.refresh();
  }

  refresh(options: { full?: boolean } = {}): Promise<void> {
    if (this.inFlight && !options.full) return this.inFlight;
    const run: Promise<void> = (this.inFlight ?? Promise.resolve())
      .then(() => this.load(options.full === true))
      .finally(() => {
        if (this.inFlight === run) this.inFlight = undefined;
      });
    this.inFlight = run;
    return run;
  }

  private async load(full: boolean): Promise<void> {
    if (this.connection.state.kind !== 'connected') return;
    const taskman = this.connection.state.taskman;
    const reload = full || this.cursor === undefined || ++this.refreshCount % FULL_RELOAD_EVERY === 0;
    let rows: Task[];
    try {
      rows = await taskman.list({
        states: this.filter.states,
        applications: this.filter.applications,
        limit: reload ? MAX_TASKS : 1000,
        updatedAfter: reload ? undefined : new Date(this.cursor!.getTime() - CURSOR_OVERLAP_MS),
      });
    } catch (error) {
      if (this.view) this.view.message = `Cannot refresh: ${errorMessage(error)}`;
      return;
    }
    const before = new Map([...this.tasks].map(([id, task]) => [id, task.state]));
    if (reload) this.tasks.clear();
    for (const task of rows) {
      this.tasks.set(task.id, task);
      if (!this.cursor || task.updatedAt > this.cursor) this.cursor = task.updatedAt;
    }
    if (this.tasks.size > MAX_TASKS) {
      for (const task of this.shownTasks().slice(MAX_TASKS)) this.tasks.delete(task.id);
    }
    for (const id of this.nodes.keys()) if (!this.tasks.has(id)) this.nodes.delete(id);
    const moved = this.tasks.size !== before.size || [...this.tasks].some(([id, task]) => before.get(id) !== task.state);
    if (moved) {
      this.changed.fire(undefined);
    } else {
      // Only progress and elapsed time changed: redraw those rows alone, so that the tree keeps its
      // elements (an inline action clicked during a refresh still finds its row).
      for (const task of this.tasks.values()) if (task.state === 'running') this.changed.fire(this.nodeFor(task));
    }
    this.updateMessage();
    this.refreshed.fire();
  }

  /** One node object per task, kept across refreshes, so VS Code's handles stay valid. */
  private readonly nodes = new Map<string, Extract<TaskTreeNode, { kind: 'task' }>>();

  private nodeFor(task: Task): Extract<TaskTreeNode, { kind: 'task' }> {
    let node = this.nodes.get(task.id);
    if (!node) {
      node = { kind: 'task', task };
      this.nodes.set(task.id, node);
    }
    node.task = task;
    return node;
  }

  /** Drops a task from the view at once (after Delete), before the next full reload. */
  forget(taskId: string): void {
    this.nodes.delete(taskId);
    if (this.tasks.delete(taskId)) this.changed.fire(undefined);
  }

  private updateMessage(): void {
    if (!this.view) return;
    const state = this.connection.state;
    if (state.kind === 'unavailable') this.view.message = `Database unavailable: ${errorMessage(state.error)} — retrying.`;
    else if (state.kind === 'not-configured') this.view.message = 'No database configured: run "Taskman: Configure Database…" or "Taskman: Use Embedded Database".';
    else if (state.kind === 'connecting') this.view.message = 'Connecting to the database…';
    else this.view.message = undefined;
    const running = this.runningCount();
    this.view.badge = running > 0 ? { value: running, tooltip: `${running} task${running === 1 ? '' : 's'} running` } : undefined;
  }

  getChildren(node?: TaskTreeNode): TaskTreeNode[] {
    const tasks = this.shownTasks();
    if (!node) {
      return STATE_ORDER.filter((state) => tasks.some((task) => task.state === state)).map((state) => this.groupNodes[state]);
    }
    if (node.kind === 'group') return tasks.filter((task) => task.state === node.state).map((task) => this.nodeFor(task));
    return [];
  }

  getParent(node: TaskTreeNode): TaskTreeNode | undefined {
    return node.kind === 'task' ? this.groupNodes[node.task.state] : undefined;
  }

  getTreeItem(node: TaskTreeNode): vscode.TreeItem {
    if (node.kind === 'group') {
      const count = this.shownTasks().filter((task) => task.state === node.state).length;
      const item = new vscode.TreeItem(`${stateLabel(node.state)} (${count})`, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `state:${node.state}`;
      item.iconPath = stateIcon(node.state);
      item.contextValue = `group.${node.state}`;
      item.accessibilityInformation = { label: `${stateLabel(node.state)} tasks, ${count}` };
      return item;
    }
    const { task } = node;
    const item = new vscode.TreeItem(task.task, vscode.TreeItemCollapsibleState.None);
    item.id = `task:${task.id}`;
    item.description = taskDescription(task, new Date());
    item.tooltip = taskTooltip(task);
    item.iconPath = stateIcon(task.state);
    item.contextValue = `task.${task.state}`;
    item.accessibilityInformation = { label: `Task ${task.id} ${task.task} ${task.state}${task.state === 'running' && task.progress.percent !== null ? ` ${Math.round(task.progress.percent)}%` : ''}` };
    if (task.state === 'succeeded') item.command = { command: 'taskman.showResult', title: 'Show Result', arguments: [node] };
    else if (task.error) item.command = { command: 'taskman.showError', title: 'Show Error', arguments: [node] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
