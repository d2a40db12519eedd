/**
 * The runner: a child process that runs exactly one task (or lists the tasks), then exits.
 * Built as its own entry point (dist/runner.js) and started by the scheduler with the
 * application's Node binary, environment, working directory and NODE_PATH.
 */
import { format } from 'node:util';
import { assertNever, isParentMessage, ParentMessage, RunnerMessage } from '../protocol';
import { TaskError } from '../task';
import { findTaskFunction, listTaskNames, loadTasksModule } from './loadTasksModule';
import { serialiseThrown } from './serialiseThrown';

/** Progress reaches the parent at most this often; the last value always does. */
const PROGRESS_INTERVAL_MS = 50;

let abortController: AbortController | undefined;
let started = false;
let finishing = false;

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Sends the one final message and exits; a second caller (a stray error while finishing) waits. */
async function finish(message: RunnerMessage, code: number): Promise<never> {
  if (finishing) return new Promise<never>(() => undefined);
  finishing = true;
  await flushProgress();
  // Output still queued in this process would be lost by process.exit: let it drain first.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
  await send(message);
  process.exit(code);
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

async function runTask(message: Extract<ParentMessage, { type: 'start' }>): Promise<never> {
  abortController = new AbortController();
  let exportsObject: Record<string, unknown>;
  try {
    exportsObject = await loadTasksModule(message.tasksModule);
  } catch (error) {
    const thrown = serialiseThrown(error);
    return finish({ type: 'failed', error: { ...thrown, name: 'TasksModuleLoadError', message: `Loading the tasks module ${message.tasksModule} failed: ${thrown.name}: ${thrown.message}` } }, 1);
  }
  const fn = findTaskFunction(exportsObject, message.task);
  if (!fn) {
    const available = listTaskNames(exportsObject);
    return finish({
      type: 'failed',
      error: failure('TaskNotExported', `"${message.task}" is not an exported function of ${message.tasksModule}. Exported tasks: ${available.length ? available.join(', ') : '(none)'}.`),
    }, 1);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(message.payloadJson);
  } catch (error) {
    return finish({ type: 'failed', error: failure('InvalidPayload', `The stored payload is not JSON: ${(error as Error).message}`) }, 1);
  }
  const signal = abortController.signal;
  const ctx = Object.freeze({
    id: message.taskId,
    attempt: message.attempt,
    signal,
    progress(percent: number | null, progressMessage?: string | null): void {
      if (percent !== null && (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)) {
        throw new TypeError(`ctx.progress(percent) takes a number from 0 to 100 or null, got ${format('%o', percent)}.`);
      }
      if (progressMessage !== undefined && progressMessage !== null && typeof progressMessage !== 'string') {
        throw new TypeError('ctx.progress(percent, message): message must be a string.');
      }
      queueProgress(percent, progressMessage === undefined ? null : progressMessage === null ? null : progressMessage.slice(0, 1024));
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
    return finish({ type: 'failed', error: failure('ResultNotSerializable', `The task returned a value that is not JSON: ${(error as Error).message}. Return plain objects, arrays, strings, numbers, booleans or null.`) }, 1);
  }
  if (resultJson === undefined) {
    return finish({ type: 'failed', error: failure('ResultNotSerializable', 'The task returned a value that is not JSON (a function or a symbol).') }, 1);
  }
  const size = Buffer.byteLength(resultJson);
  if (size > message.resultLimitBytes) {
    return finish({ type: 'failed', error: failure('ResultTooLarge', `The result is ${size} bytes of JSON; the limit is ${message.resultLimitBytes}. Store large output elsewhere and return a reference.`) }, 1);
  }
  return finish({ type: 'succeeded', resultJson }, 0);
}

async function listTasks(tasksModule: string): Promise<never> {
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
      if (started) return;
      started = true;
      void runTask(value);
      return;
    case 'list-tasks':
      if (started) return;
      started = true;
      void listTasks(value.tasksModule);
      return;
    case 'abort':
      abortController?.abort(new AbortError(value.reason));
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
process.on('uncaughtException', (error) => void finish({ type: 'failed', error: serialiseThrown(error) }, 1));
process.on('unhandledRejection', (error) => void finish({ type: 'failed', error: serialiseThrown(error) }, 1));
// Parent gone (scheduler crashed or was killed): nobody can record the outcome, so stop.
process.on('disconnect', () => process.exit(70));
process.on('message', onMessage);
void send({ type: 'ready', pid: process.pid });
