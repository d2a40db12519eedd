import type { Task, TaskFilter, TaskGrouping, Taskman, TaskState } from '../../core';

export interface TaskFilterState {
  states?: TaskState[];
  applications?: string[];
  /** An id or text in the task's name, payload or error. */
  search?: string;
}

/** The order of the state groups: what needs attention first. */
export const STATE_ORDER: TaskState[] = [
  'running',
  'pending',
  'waiting',
  'failed',
  'aborted',
  'lost',
  'expired',
  'skipped',
  'succeeded',
];

/** The newest tasks loaded at first; each "load more" of a group adds as many of that group. */
export const PAGE_SIZE = 300;
/** Rows committed late can carry an updated_at slightly older than one already seen. */
const CURSOR_OVERLAP_MS = 2000;
/** Every so many refreshes, a full reload also drops tasks deleted by other clients. */
const FULL_RELOAD_EVERY = 15;
/** The most changed rows one incremental refresh reads. */
const INCREMENT_LIMIT = 1000;
/** Counts are re-read when something changed, and at least every so many refreshes. */
const COUNT_EVERY = 5;

const newestFirst = (a: Task, b: Task) => Number(BigInt(b.id) - BigInt(a.id));

export function groupKey(task: Task, grouping: TaskGrouping): string {
  return grouping === 'state' ? task.state : grouping === 'task' ? task.task : task.application;
}

/**
 * What the Tasks view shows, kept apart from VS Code: the tasks loaded (the newest page, plus the
 * pages a user asked for per group), the true number per group from one grouped query, and an
 * incremental refresh that reads only the rows changed since the last one.
 */
export class TaskTreeModel {
  private readonly tasks = new Map<string, Task>();
  private counts = new Map<string, number>();
  /** Rows a user added to a group with "load more", kept across full reloads. */
  private readonly extra = new Map<string, number>();
  private cursor: Date | undefined;
  private refreshes = 0;
  private reloadDue = false;
  private byGroup: Map<string, Task[]> | undefined;
  filter: TaskFilterState = {};
  grouping: TaskGrouping = 'state';

  /** Starts over: the next load is a full one. */
  reset(filter: TaskFilterState, grouping: TaskGrouping): void {
    this.filter = filter;
    this.grouping = grouping;
    this.tasks.clear();
    this.byGroup = undefined;
    this.counts.clear();
    this.extra.clear();
    this.cursor = undefined;
  }

  private baseFilter(): TaskFilter {
    return { states: this.filter.states, applications: this.filter.applications, search: this.filter.search };
  }

  /** The filter of one group: the view's filter narrowed to the group's value. */
  private groupFilter(key: string): TaskFilter {
    const base = this.baseFilter();
    if (this.grouping === 'state') return { ...base, states: [key as TaskState] };
    if (this.grouping === 'task') return { ...base, task: key };
    return { ...base, applications: [key] };
  }

  /**
   * Reads what changed; a full reload now and then. Returns whether the set of rows or their
   * groups moved, and the tasks read (their rows need redrawing).
   */
  async load(taskman: Taskman, full: boolean): Promise<{ moved: boolean; changed: Task[] }> {
    const reload = full || this.cursor === undefined || this.reloadDue || ++this.refreshes % FULL_RELOAD_EVERY === 0;
    this.reloadDue = false;
    const before = new Map([...this.tasks].map(([id, task]) => [id, groupKey(task, this.grouping)]));
    let changed: Task[];
    if (reload) {
      changed = await this.fullPages(taskman);
      this.tasks.clear();
    } else {
      // Without the state filter: a task that moved out of the filtered states must leave the view.
      changed = await taskman.list({
        ...this.baseFilter(),
        states: undefined,
        limit: INCREMENT_LIMIT,
        updatedAfter: new Date(this.cursor!.getTime() - CURSOR_OVERLAP_MS),
      });
      // More changed than one read returns: the older ones are read by a full reload, next.
      this.reloadDue = changed.length === INCREMENT_LIMIT;
    }
    this.byGroup = undefined;
    const states = this.filter.states;
    for (const task of changed) {
      if (states?.length && !states.includes(task.state)) this.tasks.delete(task.id);
      else this.tasks.set(task.id, task);
      if (!this.cursor || task.updatedAt > this.cursor) this.cursor = task.updatedAt;
    }
    // A search is a scan of the table: counted on a slower pace than changes come.
    const recount = reload || this.refreshes % COUNT_EVERY === 0 || (changed.length > 0 && !this.filter.search);
    if (recount) this.counts = await taskman.count(this.baseFilter(), this.grouping);
    const moved =
      this.tasks.size !== before.size ||
      [...this.tasks].some(([id, task]) => before.get(id) !== groupKey(task, this.grouping));
    return { moved, changed };
  }

  /** The newest page overall, and the pages of groups a user extended. */
  private async fullPages(taskman: Taskman): Promise<Task[]> {
    const rows = await taskman.list({ ...this.baseFilter(), limit: PAGE_SIZE });
    for (const [key, count] of this.extra) {
      const inPage = rows.filter((task) => groupKey(task, this.grouping) === key).length;
      let want = inPage + count;
      let beforeId: string | undefined;
      const group: Task[] = [];
      while (group.length < want) {
        const page = await taskman.list({
          ...this.groupFilter(key),
          beforeId,
          limit: Math.min(1000, want - group.length),
        });
        group.push(...page);
        if (page.length === 0) want = group.length;
        beforeId = page.at(-1)?.id;
      }
      rows.push(...group);
    }
    return rows;
  }

  /** Loads the next page of one group (older than its oldest loaded task). */
  async loadMore(taskman: Taskman, key: string): Promise<void> {
    const oldest = this.inGroup(key).at(-1);
    const page = await taskman.list({ ...this.groupFilter(key), beforeId: oldest?.id, limit: PAGE_SIZE });
    this.byGroup = undefined;
    for (const task of page) this.tasks.set(task.id, task);
    this.extra.set(key, (this.extra.get(key) ?? 0) + page.length);
  }

  forget(taskId: string): boolean {
    const task = this.tasks.get(taskId);
    if (!task) return false;
    this.tasks.delete(taskId);
    this.byGroup = undefined;
    const key = groupKey(task, this.grouping);
    const count = this.counts.get(key);
    if (count !== undefined) this.counts.set(key, Math.max(0, count - 1));
    return true;
  }

  get(taskId: string): Task | undefined {
    return this.tasks.get(taskId);
  }

  /** Every loaded task, newest first. */
  all(): Task[] {
    return [...this.sorted().values()].flat().sort(newestFirst);
  }

  inGroup(key: string): Task[] {
    return this.sorted().get(key) ?? [];
  }

  /** The loaded tasks by group, newest first; made again after each change. */
  private sorted(): Map<string, Task[]> {
    if (this.byGroup) return this.byGroup;
    const groups = new Map<string, Task[]>();
    for (const task of this.tasks.values()) {
      const key = groupKey(task, this.grouping);
      const list = groups.get(key) ?? [];
      list.push(task);
      groups.set(key, list);
    }
    for (const list of groups.values()) list.sort(newestFirst);
    this.byGroup = groups;
    return groups;
  }

  /** Groups with tasks: states in their fixed order, names alphabetically. */
  groups(): string[] {
    const keys = new Set([...this.counts].filter(([, n]) => n > 0).map(([key]) => key));
    for (const task of this.tasks.values()) keys.add(groupKey(task, this.grouping));
    if (this.grouping === 'state') return STATE_ORDER.filter((state) => keys.has(state));
    return [...keys].sort((a, b) => a.localeCompare(b));
  }

  /** The database's count of a group, or what is loaded when no count was read yet. */
  count(key: string): number {
    return Math.max(this.counts.get(key) ?? 0, this.inGroup(key).length);
  }

  total(): number {
    return this.groups().reduce((sum, key) => sum + this.count(key), 0);
  }

  loadedCount(): number {
    return this.tasks.size;
  }
}
