import type { ApplicationConfig } from '../config';
import type { Database } from '../database/connection';
import { SUBMISSION_OPTIONS, type SubmitTaskInput, submitTask } from '../database/submitTask';
import { errorMessage, TaskmanError } from '../errors';
import type { ChildOptions } from '../protocol';
import type { Task, TaskError } from '../task';
import type { DatabaseHealth } from './databaseHealth';
import type { ChildRequest } from './taskRun';

/** The options a task's code may give its child: nothing that pins, debugs or re-parents it. */
const CHILD_OPTIONS: readonly (keyof ChildOptions)[] = [...SUBMISSION_OPTIONS, 'after'];

/**
 * `ctx.submit` of a running task, in its scheduler: submits a task of the same application whose
 * parent is the running one. Unless the call gives a key, the child is keyed by its parent's
 * attempt and the call's number, so a submit retried after a lost reply (through an outage)
 * returns the child it made instead of a second one. Bad options come back as the call's error.
 */
export async function submitChild(
  context: { db: Database; health: DatabaseHealth; wake: () => void; cancelled: () => boolean },
  parent: Task,
  app: ApplicationConfig,
  request: ChildRequest,
): Promise<{ id?: string; error?: TaskError }> {
  try {
    const given = request.options ?? {};
    const input: SubmitTaskInput = {
      ...Object.fromEntries(
        CHILD_OPTIONS.filter((option) => given[option] !== undefined).map((option) => [option, given[option]]),
      ),
      application: app.name,
      task: request.task,
      payload: JSON.parse(request.payloadJson),
      parentId: parent.id,
      key: given.key ?? `child:${parent.id}:${parent.attempt}:${request.requestId}`,
    };
    const submitted = await context.health.retryWhileUnavailable(
      () => submitTask(context.db, input),
      context.cancelled,
    );
    if (!submitted)
      return { error: { name: 'Error', message: 'The scheduler stopped before the child was submitted.' } };
    context.wake();
    return { id: submitted.id };
  } catch (error) {
    return {
      error: {
        name: error instanceof TaskmanError ? error.name : 'Error',
        message: errorMessage(error),
      },
    };
  }
}
