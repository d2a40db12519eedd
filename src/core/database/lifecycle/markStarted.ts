import type { EffectiveTaskOptions } from '../../retries';
import type { TaskId } from '../../task';
import type { Database } from '../connection';
import { endAndStart, type StartMark } from './endAndStart';

/**
 * Started mark: `running` stays `running`, `started_at` is committed before the runner is given
 * the task. Importing the tasks module already runs user code, so from here on a dead scheduler's
 * task is `lost`, never silently requeued.
 *
 * Input: the tasks and the scheduler that claimed them. Output: each task's mark.
 * Guarantee: fenced by `scheduler_id = ? AND state = 'running' AND started_at IS NULL`, and never
 * for a task whose abort was asked or whose start-before deadline passed. A mark whose reply was
 * lost and is written again finds the task started already and says `started`. The statement is
 * endAndStart.ts's, which also carries the outcomes a scheduler writes with its marks.
 */

export type { StartMark } from './endAndStart';

export async function markStarted(
  db: Database,
  id: TaskId,
  schedulerId: string,
  ranVersion: string,
  stamp?: EffectiveTaskOptions,
): Promise<StartMark> {
  return (await markStartedBatch(db, [id], schedulerId, ranVersion, new Map(stamp ? [[id, stamp]] : []))).get(id)!;
}

/** The marks of tasks a scheduler starts together: one statement and one commit for the batch. */
export async function markStartedBatch(
  db: Database,
  ids: TaskId[],
  schedulerId: string,
  ranVersion: string,
  /** What each mark stamps (startStamp.ts), by task. */
  stamps: ReadonlyMap<TaskId, EffectiveTaskOptions> = new Map(),
): Promise<Map<TaskId, StartMark>> {
  const starting = ids.map((taskId) => ({ taskId, version: ranVersion, stamp: stamps.get(taskId) }));
  return (await endAndStart(db, schedulerId, [], starting)).marks;
}
