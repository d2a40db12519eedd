/**
 * The runner: a child process that runs one task (or lists the tasks), then exits; a pooled runner
 * (`keepAlive`) instead waits for the next task of the same application version.
 * Built as its own entry point (dist/runner.js) and started by the scheduler with the
 * application's Node binary, environment, working directory and NODE_PATH.
 */
import { format } from 'node:util';
import { assertNever, isParentMessage, type ParentMessage, type RunnerMessage } from '../protocol';
import type { TaskError } from '../task';
import { findTaskFunction, listTaskNames, loadTasksModule } from './loadTasksModule';
import { serialiseThrown } from './serialiseThrown';

/** Progress reaches the parent at most this often; the last value always does. */
const PROGRESS_INTERVAL_MS = 50;

let abortController: AbortController | undefined;
let currentTaskId: string | undefined;
/** A task (or a listing) is in progress. */
let busy = false;
/** The current task lets the runner stay up afterwards. */
let keepAlive = false;
let finishing = false;
let exiting = false;

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/**
 * Sends the task's one final message, then exits, or (pooled, task ended by itself) goes back to
 * waiting for the next task. A second caller (a stray error while finishing) is ignored.
 */
async function finish(message: RunnerMessage, code: number, options: { mayStay?: boolean } = {}): Promise<void> {
  if (finishing) return;
  finishing = true;
  await flushProgress();
  // Output still queued in this process would be lost by process.exit, and in a pooled runner
  // would be counted as the next task's: let it drain first. Nothing is queued most of the time
  // (pipes are written synchronously on Linux), and then no empty write is made: two syscalls
  // per task, a fifth of a pooled runner's CPU with no-op tasks.
  await Promise.all(
    [process.stdout, process.stderr]
      .filter((stream) => stream.writableLength > 0)
      .map((stream) => new Promise((resolve) => stream.write('', resolve))),
  );
  await send(message);
  if (keepAlive && options.mayStay !== false) {
    busy = false;
    finishing = false;
    abortController = undefined;
    return;
  }
  exiting = true;
  process.exit(code);
}

/**
 * An error no task code awaited: the current task fails with it, and the runner exits either
 * way, since whatever threw may have left this process in a bad state.
 */
function onStrayError(error: unknown): void {
  if (exiting) return;
  if (busy && !finishing) {
    void finish({ type: 'failed', error: serialiseThrown(error) }, 1, { mayStay: false });
    return;
  }
  exiting = true;
  process.stderr.write(`taskman runner: ${serialiseThrown(error).stack ?? String(error)}\n`, () => process.exit(1));
}

let pendingProgress: { percent: number | null; message: string | null } | undefined;
let progressTimer: NodeJS.Timeout | undefined;

function queueProgress(percent: number | null, message: string | null): void {
  pendingProgress = { percent, message };
  progressTimer ??= setTimeout(() => void flushProgress(), PROGRESS_INTERVAL_MS);
}

async function flushProgress(): Promise<void> {
  if (progressTimer) clearTimeout(progressTimer);
  progressTimer = undefined;
  const latest = pendingProgress;
  pendingProgress = undefined;
  if (latest) await send({ type: 'progress', ...latest });
}

function failure(name: string, message: string): TaskError {
  return { name, message };
}

async function runTask(message: Extract<ParentMessage, { type: 'start' }>): Promise<void> {
  abortController = new AbortController();
  currentTaskId = message.taskId;
  let exportsObject: Record<string, unknown>;
  try {
    exportsObject = await loadTasksModule(message.tasksModule);
  } catch (error) {
    const thrown = serialiseThrown(error);
    // Whatever the failed import ran stays in this process: a pooled runner does not stay either.
    return finish(
      {
        type: 'failed',
        error: {
          ...thrown,
          name: 'TasksModuleLoadError',
          message: `Loading the tasks module ${message.tasksModule} failed: ${thrown.name}: ${thrown.message}`,
        },
      },
      1,
      { mayStay: false },
    );
  }
  const fn = findTaskFunction(exportsObject, message.task);
  if (!fn) {
    const available = listTaskNames(exportsObject);
    return finish(
      {
        type: 'failed',
        error: failure(
          'TaskNotExported',
          `"${message.task}" is not an exported function of ${message.tasksModule}. Exported tasks: ${available.length ? available.join(', ') : '(none)'}.`,
        ),
      },
      1,
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(message.payloadJson);
  } catch (error) {
    return finish(
      {
        type: 'failed',
        error: failure('InvalidPayload', `The stored payload is not JSON: ${(error as Error).message}`),
      },
      1,
    );
  }
  const signal = abortController.signal;
  const ctx = Object.freeze({
    id: message.taskId,
    attempt: message.attempt,
    signal,
    progress(percent: number | null, progressMessage?: string | null): void {
      if (
        percent !== null &&
        (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
      ) {
        throw new TypeError(
          `ctx.progress(percent) takes a number from 0 to 100 or null, got ${format('%o', percent)}.`,
        );
      }
      if (progressMessage !== undefined && progressMessage !== null && typeof progressMessage !== 'string') {
        throw new TypeError('ctx.progress(percent, message): message must be a string.');
      }
      queueProgress(
        percent,
        progressMessage === undefined ? null : progressMessage === null ? null : progressMessage.slice(0, 1024),
      );
    },
    log(...args: unknown[]): void {
      process.stdout.write(`${format(...args)}\n`);
    },
  });
  let value: unknown;
  try {
    value = await fn(payload, ctx);
  } catch (error) {
    return finish({ type: 'failed', error: serialiseThrown(error) }, 1);
  }
  let resultJson: string | undefined;
  try {
    resultJson = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    return finish(
      {
        type: 'failed',
        error: failure(
          'ResultNotSerializable',
          `The task returned a value that is not JSON: ${(error as Error).message}. Return plain objects, arrays, strings, numbers, booleans or null.`,
        ),
      },
      1,
    );
  }
  if (resultJson === undefined) {
    return finish(
      {
        type: 'failed',
        error: failure('ResultNotSerializable', 'The task returned a value that is not JSON (a function or a symbol).'),
      },
      1,
    );
  }
  const size = Buffer.byteLength(resultJson);
  if (size > message.resultLimitBytes) {
    return finish(
      {
        type: 'failed',
        error: failure(
          'ResultTooLarge',
          `The result is ${size} bytes of JSON; the limit is ${message.resultLimitBytes}. Store large output elsewhere and return a reference.`,
        ),
      },
      1,
    );
  }
  return finish({ type: 'succeeded', resultJson }, 0);
}

async function listTasks(tasksModule: string): Promise<void> {
  try {
    const exportsObject = await loadTasksModule(tasksModule);
    return finish({ type: 'task-list', tasks: listTaskNames(exportsObject) }, 0);
  } catch (error) {
    return finish({ type: 'task-list-failed', error: serialiseThrown(error) }, 1);
  }
}

function onMessage(value: unknown): void {
  if (!isParentMessage(value)) return;
  switch (value.type) {
    case 'start':
      if (busy || exiting) return;
      busy = true;
      keepAlive = value.keepAlive === true;
      void runTask(value);
      return;
    case 'list-tasks':
      if (busy || exiting) return;
      busy = true;
      keepAlive = false;
      void listTasks(value.tasksModule);
      return;
    case 'abort':
      // An abort meant for an earlier task of a pooled runner must not reach the next one.
      if (value.taskId === currentTaskId) abortController?.abort(new AbortError(value.reason));
      return;
    default:
      assertNever(value);
  }
}

/** What `ctx.signal.reason` holds after an abort. */
class AbortError extends Error {
  override name = 'AbortError';
}

// A task's stray error must still end in an honest `failed`, never a silent hang.
process.on('uncaughtException', onStrayError);
process.on('unhandledRejection', onStrayError);
// Parent gone (scheduler crashed or was killed): nobody can record the outcome, so stop.
process.on('disconnect', () => process.exit(70));
process.on('message', onMessage);
void send({ type: 'ready', pid: process.pid });
