import * as vscode from 'vscode';
import { errorMessage, type Task, WaitReasons, type TaskGrouping, type TaskState } from '../../core';
import { CommandId } from '../commandIds';
import type { DatabaseConnection } from '../databaseConnection';
import { stateIcon, stateLabel, taskDescription, taskTooltip } from './taskPresentation';
import { groupKey, type TaskFilterState, TaskTreeModel } from './taskTreeModel';
import { RefreshWhileVisible, ShownRows } from './visibleRefresh';

export type { TaskFilterState } from './taskTreeModel';

export type TaskTreeNode =
  | { kind: 'group'; key: string }
  /** A task in its group, or (`under`: its parent's id) among its parent's children. */
  | { kind: 'task'; task: Task; under?: string }
  /** The last row of a group that has more tasks than are loaded. */
  | { kind: 'more'; key: string };

type GroupNode = Extract<TaskTreeNode, { kind: 'group' }>;

/** Tasks paused at a breakpoint (the debugger knows); shown as such. */
export interface PausedTasks {
  isPaused(taskId: string): boolean;
  readonly onDidChangePaused: vscode.Event<void>;
}

/**
 * The Tasks view: tasks grouped by state, task or application, newest first, with the true
 * count of each group and "load more" where not all are loaded. It refreshes only while visible,
 * and after the first load fetches only the rows changed since the last refresh.
 */
export class TaskTree implements vscode.TreeDataProvider<TaskTreeNode>, vscode.Disposable {
  private pausedApplications: string[] = [];
  private readonly changed = new vscode.EventEmitter<TaskTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly refreshed = new vscode.EventEmitter<void>();
  /** Fires after each refresh that reached the database (tests listen). */
  readonly onDidRefresh = this.refreshed.event;
  private readonly model = new TaskTreeModel();
  /** The full concurrency keys at the last refresh: a pending task with one says so. */
  private waitReasons = new WaitReasons();
  /** The shown tasks that have children (ctx.submit): their rows expand to them. */
  private parents = new Set<string>();
  /** The parents whose children were listed: asked again at each refresh, while expanded. */
  private readonly listedChildren = new Set<string>();
  private visibleRefresh: RefreshWhileVisible | undefined;
  private inFlight: Promise<void> | undefined;
  private view: vscode.TreeView<TaskTreeNode> | undefined;
  private paused: PausedTasks | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** One node object per row, kept across refreshes, so VS Code's handles stay valid. */
  private readonly nodes = new Map<string, TaskTreeNode>();
  /** Every node this tree made: commands tell a row VS Code passed them from any other argument. */
  private readonly made = new ShownRows<TaskTreeNode>();
  /** The count each group's label shows, to redraw a label only when its count changed. */
  private readonly shownCounts = new Map<string, number>();

  constructor(private readonly connection: DatabaseConnection) {
    this.disposables.push(
      this.changed,
      this.refreshed,
      connection.onDidChange(() => {
        this.updateMessage();
        if (connection.state.kind === 'connected') void this.refresh({ full: true });
      }),
      vscode.workspace.onDidChangeConfiguration(
        (event) => event.affectsConfiguration('taskman.view.refreshInterval') && this.visibleRefresh?.reschedule(),
      ),
    );
  }

  attach(view: vscode.TreeView<TaskTreeNode>, paused: PausedTasks): void {
    this.view = view;
    this.paused = paused;
    this.visibleRefresh = new RefreshWhileVisible(view, refreshInterval, () => this.refresh());
    this.disposables.push(
      this.visibleRefresh,
      paused.onDidChangePaused(() => this.changed.fire(undefined)),
    );
    this.updateMessage();
  }

  get filter(): TaskFilterState {
    return this.model.filter;
  }

  get grouping(): TaskGrouping {
    return this.model.grouping;
  }

  /** Whether `value` is a row of this tree (VS Code passes the focused row to title-bar commands). */
  owns(value: unknown): value is TaskTreeNode {
    return this.made.has(value);
  }

  /** The loaded tasks, newest first. */
  shownTasks(): Task[] {
    return this.model.all();
  }

  shownTask(taskId: string): Task | undefined {
    return this.model.get(taskId);
  }

  /** Matching tasks in the database, and how many of them are loaded. */
  totals(): { total: number; loaded: number } {
    return { total: this.model.total(), loaded: this.model.loadedCount() };
  }

  /** The database's count of one group. */
  groupCount(key: string): number {
    return this.model.count(key);
  }

  show(filter: TaskFilterState, grouping: TaskGrouping = this.model.grouping): Promise<void> {
    this.model.reset(filter, grouping);
    this.nodes.clear();
    this.updateDescription();
    this.changed.fire(undefined);
    return this.refresh({ full: true });
  }

  async loadMore(key: string): Promise<void> {
    if (this.connection.state.kind !== 'connected') return;
    await this.model.loadMore(this.connection.state.taskman, key);
    this.changed.fire(undefined);
    this.updateDescription();
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
    // Shown before anything connected: connecting is what the view needs (at most one attempt
    // runs). Not while hidden: activated for a debug picker in another workspace, it must not ask.
    if (this.connection.state.kind === 'connecting' && this.view?.visible)
      void this.connection.get().catch(() => undefined);
    if (this.connection.state.kind !== 'connected') return;
    let loaded: { moved: boolean; changed: Task[] };
    try {
      loaded = await this.model.load(this.connection.state.taskman, full);
    } catch (error) {
      if (this.view) this.view.message = `Cannot refresh: ${errorMessage(error)}`;
      return;
    }
    // Rows whose wait reason changed (a key filled or freed, a dependency ended) are redrawn below.
    const before = this.waitReasons;
    const shown = this.model.all();
    this.waitReasons = await this.connection.state.taskman.waitReasons(shown).catch(() => before);
    const reasonChanged = shown.filter((task) => before.reasonFor(task) !== this.waitReasons.reasonFor(task));
    const parentsBefore = this.parents;
    this.parents = await this.connection.state.taskman
      .withChildren(shown.map((task) => task.id))
      .catch(() => parentsBefore);
    const becameParents = shown.filter((task) => this.parents.has(task.id) !== parentsBefore.has(task.id));
    for (const [key, node] of this.nodes)
      if (node.kind === 'task' && !node.under && !this.model.get(node.task.id)) this.nodes.delete(key);
    if (loaded.moved) {
      this.changed.fire(undefined);
    } else {
      // No row changed its group: redraw the rows read (a new state, progress) and the running
      // ones (elapsed time) alone, so that the tree keeps its elements (an inline action clicked
      // during a refresh still finds its row).
      const redraw = new Map(
        this.model
          .all()
          .filter((task) => task.state === 'running')
          .map((task) => [task.id, task]),
      );
      for (const task of [...reasonChanged, ...becameParents]) redraw.set(task.id, task);
      for (const task of loaded.changed) if (this.model.get(task.id)) redraw.set(task.id, this.model.get(task.id)!);
      for (const task of redraw.values()) this.changed.fire(this.taskNode(task));
      for (const key of this.model.groups()) {
        if (this.shownCounts.get(key) !== this.model.count(key)) this.changed.fire(this.groupNode(key));
      }
      // Expanded parents list their children again (their states move on).
      for (const id of this.listedChildren) {
        const parent = this.model.get(id);
        if (parent && !redraw.has(id)) this.changed.fire(this.taskNode(parent));
      }
    }
    this.updateMessage();
    this.updateDescription();
    this.refreshed.fire();
  }

  private node<T extends TaskTreeNode>(id: string, make: () => T): T {
    let node = this.nodes.get(id) as T | undefined;
    if (!node) {
      node = make();
      this.nodes.set(id, node);
      this.made.add(node);
    }
    return node;
  }

  private groupNode(key: string): TaskTreeNode {
    return this.node(`group:${key}`, () => ({ kind: 'group', key }));
  }

  private moreNode(key: string): TaskTreeNode {
    return this.node(`more:${key}`, () => ({ kind: 'more', key }));
  }

  private taskNode(task: Task): Extract<TaskTreeNode, { kind: 'task' }> {
    const node = this.node(`task:${task.id}`, () => ({ kind: 'task' as const, task }));
    node.task = task;
    return node;
  }

  /** Drops a task from the view at once (after Delete), before the next full reload. */
  forget(taskId: string): void {
    this.nodes.delete(`task:${taskId}`);
    if (this.model.forget(taskId)) this.changed.fire(undefined);
  }

  private updateMessage(): void {
    if (!this.view) return;
    const state = this.connection.state;
    if (state.kind === 'unavailable')
      this.view.message = `Database unavailable: ${errorMessage(state.error)} — retrying.`;
    else if (state.kind === 'connecting') this.view.message = 'Connecting to the database…';
    // Not configured: the welcome content says so, with its buttons.
    else this.view.message = undefined;
  }

  /** The paused applications, named in the view's description: their pending tasks wait. */
  setPaused(applications: string[]): void {
    this.pausedApplications = applications;
    this.updateDescription();
  }

  private updateDescription(): void {
    if (!this.view) return;
    const { states, applications, search } = this.model.filter;
    const parts = [applications?.join(', '), states?.join(', '), search ? `"${search}"` : undefined].filter(Boolean);
    const { total, loaded } = this.totals();
    const paging =
      total > loaded ? `showing ${loaded.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}` : undefined;
    const paused = this.pausedApplications.length ? `${this.pausedApplications.join(', ')} paused` : undefined;
    const description = [parts.length ? `filtered: ${parts.join(' · ')}` : undefined, paging, paused]
      .filter(Boolean)
      .join(' — ');
    this.view.description = description || undefined;
    // An empty view then says that nothing matches, not that there are no tasks.
    void vscode.commands.executeCommand('setContext', 'taskman.filtered', parts.length > 0);
  }

  /** The groups; a group's rows; a parent's children (read when it is expanded). */
  getChildren(): GroupNode[];
  getChildren(node: GroupNode): TaskTreeNode[];
  getChildren(node?: TaskTreeNode): TaskTreeNode[] | Promise<TaskTreeNode[]>;
  getChildren(node?: TaskTreeNode): TaskTreeNode[] | Promise<TaskTreeNode[]> {
    if (!node) return this.model.groups().map((key) => this.groupNode(key) as GroupNode);
    if (node.kind === 'task') return this.childrenOf(node.task.id);
    if (node.kind !== 'group') return [];
    const tasks = this.model.inGroup(node.key).map((task) => this.taskNode(task));
    return this.model.count(node.key) > tasks.length ? [...tasks, this.moreNode(node.key)] : tasks;
  }

  /** A parent's children (ctx.submit), each its own row under it; those with children expand too. */
  private async childrenOf(parentId: string): Promise<TaskTreeNode[]> {
    if (this.connection.state.kind !== 'connected' || !this.parents.has(parentId)) return [];
    const taskman = this.connection.state.taskman;
    const children = await taskman.children(parentId).catch((): Task[] => []);
    this.listedChildren.add(parentId);
    for (const id of await taskman.withChildren(children.map((child) => child.id)).catch(() => new Set<string>()))
      this.parents.add(id);
    return children.map((child) => {
      const node = this.node(`child:${parentId}:${child.id}`, () => ({
        kind: 'task' as const,
        task: child,
        under: parentId,
      }));
      node.task = child;
      return node;
    });
  }

  getParent(node: TaskTreeNode): TaskTreeNode | undefined {
    if (node.kind === 'more') return this.groupNode(node.key);
    if (node.kind === 'task' && node.under) {
      const parent = this.model.get(node.under);
      return parent ? this.taskNode(parent) : undefined;
    }
    if (node.kind === 'task') return this.groupNode(groupKey(node.task, this.model.grouping));
    return undefined;
  }

  getTreeItem(node: TaskTreeNode): vscode.TreeItem {
    if (node.kind === 'group') return this.groupItem(node.key);
    if (node.kind === 'more') {
      const loaded = this.model.inGroup(node.key).length;
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = `more:${node.key}`;
      item.description = `showing ${loaded.toLocaleString('en-US')} of ${this.model.count(node.key).toLocaleString('en-US')}`;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.contextValue = 'more';
      // No arguments: VS Code passes the clicked row as the selection (see openTask).
      item.command = { command: CommandId.loadMore, title: 'Load More' };
      return item;
    }
    return this.taskItem(node.task, node.under);
  }

  private groupItem(key: string): vscode.TreeItem {
    const count = this.model.count(key);
    this.shownCounts.set(key, count);
    const label = this.model.grouping === 'state' ? stateLabel(key as TaskState) : key;
    const item = new vscode.TreeItem(
      `${label} (${count.toLocaleString('en-US')})`,
      vscode.TreeItemCollapsibleState.Expanded,
    );
    item.id = `group:${this.model.grouping}:${key}`;
    item.iconPath =
      this.model.grouping === 'state'
        ? stateIcon(key as TaskState)
        : new vscode.ThemeIcon(this.model.grouping === 'task' ? 'symbol-function' : 'package');
    item.contextValue = `group.${this.model.grouping}${this.model.grouping === 'state' ? `.${key}` : ''}`;
    item.accessibilityInformation = { label: `${label} tasks, ${count}` };
    return item;
  }

  private taskItem(task: Task, under?: string): vscode.TreeItem {
    const paused = task.state === 'running' && this.paused?.isPaused(task.id) === true;
    const expands = this.parents.has(task.id)
      ? vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(task.task, expands);
    // A child is shown in its own group too: its row under its parent needs another id.
    item.id = under ? `child:${under}:${task.id}` : `task:${task.id}`;
    item.description = paused
      ? `paused at a breakpoint · #${task.id} ${task.application}`
      : taskDescription(task, new Date(), this.waitReasons.reasonFor(task));
    item.tooltip = taskTooltip(task);
    item.iconPath = paused
      ? new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('debugIcon.pauseForeground'))
      : stateIcon(task.state);
    item.contextValue = `task.${task.state}${paused ? '.paused' : ''}`;
    const progress =
      task.state === 'running' && task.progress.percent !== null ? ` ${Math.round(task.progress.percent)}%` : '';
    item.accessibilityInformation = {
      label: `Task ${task.id} ${task.task} ${task.state}${paused ? ' paused at a breakpoint' : progress}`,
    };
    // No arguments: a command with arguments goes through a cache VS Code clears on each refresh of
    // the row, and a click landing just after one failed with "command not found". The handler
    // takes the clicked row from the selection, which VS Code sets before it runs the command.
    item.command = { command: CommandId.openTask, title: 'Open Task' };
    return item;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** The Tasks view polls at `taskman.view.refreshInterval`, at most every 200 ms. */
function refreshInterval(): number {
  return Math.max(200, vscode.workspace.getConfiguration('taskman').get<number>('view.refreshInterval', 1000));
}
