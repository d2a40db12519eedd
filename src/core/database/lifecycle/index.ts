/**
 * The task lifecycle: every statement that changes `taskman_task.state` is in this folder, one
 * atomic command per file, each opening with its contract (input, output, guarantee). A task is
 * created `pending` by submitTask.ts (or submitMany.ts, a batch), or `waiting` by submitAfter.ts
 * (a task that runs after others); from there:
 *
 * | from → to                                  | who                                   | fence                                                          | file           |
 * | ------------------------------------------ | ------------------------------------- | -------------------------------------------------------------- | -------------- |
 * | pending → running                          | a scheduler's claim                   | FOR UPDATE SKIP LOCKED, joined to its own fresh scheduler row  | claim.ts       |
 * | running → running, started mark            | the claim (free slots), TaskWrites    | scheduler_id, state running, started_at NULL, no abort asked   | claim.ts, endAndStart.ts |
 * | running → succeeded / failed / aborted     | outcome delivery (journal first)      | scheduler_id, state running                                    | endAndStart.ts |
 * | running → pending, attempt recorded        | delivery of a failed run with retries | FOR UPDATE by scheduler_id, running, attempt, no abort asked   | retry.ts       |
 * | running (unstarted) → pending, attempt − 1 | release of a task held for a slot     | scheduler_id, state running, started_at NULL                   | release.ts     |
 * | running → pending / aborted                | reconciliation after a lost reply     | scheduler_id, state running                                    | release.ts     |
 * | running (unstarted) → pending, attempt − 1 | sweep, orphans, deregistration        | the dead scheduler's row FOR UPDATE SKIP LOCKED; scheduler_id  | settle.ts      |
 * | running (started) → pending, lost recorded | the same, idempotent with retries     | the same, started_at NOT NULL, idempotent, attempt <= retries  | settle.ts, retry.ts |
 * | running (started) → lost                   | the same                              | the same, started_at NOT NULL                                  | settle.ts      |
 * | pending (debug pin of a gone one) → aborted| the same                              | debug_scheduler_id, state pending                              | settle.ts      |
 * | waiting → pending / skipped                | submit, finisher, abort, maintenance  | state waiting; its dependencies all succeeded / one did not    | dependencies.ts |
 * | pending, waiting → expired                 | any scheduler's maintenance           | FOR UPDATE SKIP LOCKED, start_before passed                    | expire.ts      |
 * | pending, waiting → aborted; running: asked | a user, any client                    | SELECT … FOR UPDATE, then by the state read                    | abort.ts       |
 * | ended → deleted                            | delete, purge                         | state NOT IN (waiting, pending, running); purge SKIP LOCKED    | deleteEnded.ts |
 *
 * Every transition to an ended state sets `endedColumns` (endedColumns.ts). An ended task never
 * changes state again: a rerun is a new task. The same table with the reasons: docs/design.md,
 * "The state machine".
 */
export { type AbortResult, requestAbort } from './abort';
export { type ClaimRequest, claimableCondition, claimTasks, hasClaimableTask } from './claim';
export { settleAtSubmit, settleDependents } from './dependencies';
export { countPurgeable, deleteTask, type PurgeSelection, purgeEndedTasks } from './deleteEnded';
export { expireOverdueTasks } from './expire';
export type { EndingRun, StartingRun } from './endAndStart';
export { finishAndStart, finishTasks, type Outcome, type Written } from './finish';
export { markStarted, markStartedBatch, type StartMark } from './markStarted';
export { releaseClaimedTasks, releaseStrayTasks } from './release';
export { settleSchedulerTasks } from './settle';
