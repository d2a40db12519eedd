import { format } from 'node:util';
import type { ChildOptions, ParentMessage, RunnerMessage } from '../protocol';
import type { TaskError } from '../task';

type SubmitResult = Extract<ParentMessage, { type: 'submit-result' }>;

/**
 * `ctx.submit` in the runner: each call is a `submit` message to the scheduler, which submits the
 * child (with the running task as its parent) and answers with its id. The scheduler keys a
 * child by its parent's attempt and the call's number unless the options give a key, so a submit
 * it retries after a lost reply does not make a second child.
 */
export class ChildSubmissions {
  private nextRequest = 1;
  private readonly pending = new Map<number, { resolve: (id: string) => void; reject: (error: Error) => void }>();

  constructor(private readonly send: (message: RunnerMessage) => Promise<void>) {}

  submit(task: unknown, payload: unknown, options: unknown): Promise<string> {
    if (typeof task !== 'string' || task.length === 0)
      return Promise.reject(
        new TypeError(`ctx.submit(task, payload, options): task must be a task name, got ${format('%o', task)}.`),
      );
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
      return Promise.reject(new TypeError('ctx.submit(task, payload, options): options must be an object.'));
    let payloadJson: string | undefined;
    try {
      payloadJson = JSON.stringify(payload === undefined ? null : payload);
    } catch (error) {
      return Promise.reject(new TypeError(`ctx.submit: the payload is not JSON: ${(error as Error).message}`));
    }
    if (payloadJson === undefined) return Promise.reject(new TypeError('ctx.submit: the payload is not JSON.'));
    const requestId = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      void this.send({
        type: 'submit',
        requestId,
        task,
        payloadJson: payloadJson!,
        options: (options ?? {}) as ChildOptions,
      });
    });
  }

  /** The scheduler's answer. */
  answered(message: SubmitResult): void {
    const waiting = this.pending.get(message.requestId);
    if (!waiting) return;
    this.pending.delete(message.requestId);
    if (message.id) waiting.resolve(message.id);
    else waiting.reject(submitError(message.error));
  }
}

function submitError(error: TaskError | undefined): Error {
  const thrown = new Error(error?.message ?? 'The child task was not submitted.');
  thrown.name = error?.name ?? 'Error';
  return thrown;
}
