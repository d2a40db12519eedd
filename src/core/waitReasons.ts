import type { Database } from './database/connection';
import { type FullKeys, fullConcurrencyKeys } from './database/concurrencyKeys';
import { unfinishedDependencies, waitingForText } from './database/relatedTasks';
import type { Task, TaskId } from './task';

/**
 * Why tasks do not start yet, beyond their state: a pending task's concurrency key is full
 * (`key customer:42 busy`), a waiting task's dependencies have not ended (`waiting for #12, #13`).
 * What `taskman list` and `show` print and the Tasks view shows.
 */
export class WaitReasons {
  constructor(
    private readonly fullKeys?: FullKeys,
    private readonly waitingFor = new Map<TaskId, TaskId[]>(),
  ) {}

  reasonFor(task: Task): string | undefined {
    if (task.state === 'waiting') return waitingForText(this.waitingFor.get(task.id));
    return this.fullKeys?.reasonFor(task);
  }
}

/** The reasons for `tasks`, read only where one of them could have one. */
export async function readWaitReasons(db: Database, tasks: readonly Task[]): Promise<WaitReasons> {
  const keyed = tasks.some((task) => task.state === 'pending' && task.concurrencyKey);
  const waiting = tasks.filter((task) => task.state === 'waiting').map((task) => task.id);
  const [fullKeys, waitingFor] = await Promise.all([
    keyed ? fullConcurrencyKeys(db) : undefined,
    unfinishedDependencies(db, waiting),
  ]);
  return new WaitReasons(fullKeys, waitingFor);
}
