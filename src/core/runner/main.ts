/**
 * The runner: a child process that runs one task (or lists the tasks), then exits; a pooled runner
 * (`keepAlive`) instead waits for the next task of the same application version.
 * Built as its own entry point (dist/runner.js) and started by the scheduler with the
 * application's Node binary, environment, working directory and NODE_PATH.
 */
import { assertNever, isParentMessage, type RunnerMessage } from '../protocol';
import { ChildSubmissions } from './childSubmissions';
import { listTaskNames, loadTasksModule } from './loadTasksModule';
import { ProgressThrottle } from './progressThrottle';
import { checkTransition, type RunnerState } from './runnerState';
import { runTask, type StartMessage } from './runTask';
import { serialiseThrown } from './serialiseThrown';

/** Progress reaches the parent at most this often; the last value always does. */
const PROGRESS_INTERVAL_MS = 50;

let state: RunnerState = { name: 'idle' };

/** The one place the state changes: each state is given whole, never patched field by field. */
function setState(next: RunnerState): void {
  checkTransition(state.name, next.name);
  state = next;
}

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

const progress = new ProgressThrottle((latest) => send({ type: 'progress', ...latest }), PROGRESS_INTERVAL_MS);

/**
 * Sends the task's one final message, then exits, or (pooled, task ended by itself: `mayStay`)
 * goes back to waiting for the next task. A second caller (a stray error while finishing) is ignored.
 */
async function finish(message: RunnerMessage, exitCode: number, mayStay: boolean): Promise<void> {
  const from = state;
  if (from.name !== 'running' && from.name !== 'listing') return;
  const task = from.name === 'running' ? from.task : undefined;
  const stays = mayStay && from.name === 'running' && from.keepAlive;
  setState({ name: 'finishing', task, stays });
  await progress.flush();
  if (task?.outputFence !== undefined) await writeFence(task.outputFence);
  else await drainOutput();
  // Idle before the message goes: the parent may send the next `start` as soon as it has this
  // one, and a runner still finishing would ignore it. A stray error meanwhile is already ending
  // the process: it stays in `exiting`.
  if (stays && state.name === 'finishing') setState({ name: 'idle' });
  await send(message);
  if (!stays) exit(exitCode);
}

/**
 * Output still queued in this process would be lost by process.exit: let it drain first. Nothing
 * is queued most of the time (pipes are written synchronously on Linux), and then no empty write
 * is made: they were a measurable part of a short task's cost (docs/design.md, "The runner protocol").
 */
function drainOutput(): Promise<unknown> {
  return Promise.all(
    [process.stdout, process.stderr]
      .filter((stream) => stream.writableLength > 0)
      .map((stream) => new Promise((resolve) => stream.write('', resolve))),
  );
}

/**
 * A pooled task's output fence, after all of its output on each stream (a stream's writes keep
 * their order, so its callback also means the output before it has drained). Written with the
 * stream's own `write`, which a task may have replaced on the instance to capture its output.
 * A stream the task ended gets none, or fails to take it (EPIPE once the scheduler saw its end):
 * that error is the fence's, not the task's, so it is not a stray error.
 */
function writeFence(fence: string): Promise<unknown> {
  return Promise.all(
    [process.stdout, process.stderr]
      .filter((stream) => !stream.writableEnded && !stream.destroyed)
      .map(
        (stream) =>
          new Promise<void>((resolve) => {
            const ignore = () => {};
            stream.on('error', ignore);
            Object.getPrototypeOf(stream).write.call(stream, fence, () => {
              // The stream emits a write's error after its callback, on a later tick.
              setImmediate(() => stream.off('error', ignore));
              resolve();
            });
          }),
      ),
  );
}

/** Ends the process now. A stray error while finishing may already have begun exiting. */
function exit(code: number): void {
  if (state.name !== 'exiting') setState({ name: 'exiting' });
  process.exit(code);
}

/**
 * An error no task code awaited: the current task fails with it, and the runner exits either
 * way, since whatever threw may have left this process in a bad state.
 */
function onStrayError(error: unknown): void {
  if (state.name === 'exiting') return;
  if (state.name === 'running' || state.name === 'listing') {
    void finish({ type: 'failed', error: serialiseThrown(error) }, 1, false);
    return;
  }
  setState({ name: 'exiting' });
  process.stderr.write(`taskman runner: ${serialiseThrown(error).stack ?? String(error)}\n`, () => process.exit(1));
}

/** The current task's `ctx.submit` calls; a new task (pooled) starts with none. */
let children = new ChildSubmissions(send);

async function startTask(start: StartMessage, signal: AbortSignal): Promise<void> {
  children = new ChildSubmissions(send);
  const end = await runTask(start, signal, (latest) => progress.queue(latest), children);
  await finish(end.message, end.message.type === 'succeeded' ? 0 : 1, end.mayStay);
}

async function listTasks(tasksModule: string): Promise<void> {
  try {
    const exportsObject = await loadTasksModule(tasksModule);
    return finish({ type: 'task-list', tasks: listTaskNames(exportsObject) }, 0, false);
  } catch (error) {
    return finish({ type: 'task-list-failed', error: serialiseThrown(error) }, 1, false);
  }
}

function onMessage(value: unknown): void {
  if (!isParentMessage(value)) return;
  switch (value.type) {
    case 'start': {
      // One task at a time: a `start` while busy (or exiting) is not for this runner.
      if (state.name !== 'idle') return;
      const outputFence = typeof value.outputFence === 'string' ? value.outputFence : undefined;
      const task = { taskId: value.taskId, abort: new AbortController(), outputFence };
      // A process of the task's own (often started before its task was known: SpareRunners) says which, before any of its code loads.
      if (value.keepAlive !== true) process.env.TASKMAN_TASK_ID = value.taskId;
      setState({ name: 'running', task, keepAlive: value.keepAlive === true });
      void startTask(value, task.abort.signal);
      return;
    }
    case 'list-tasks':
      if (state.name !== 'idle') return;
      setState({ name: 'listing' });
      void listTasks(value.tasksModule);
      return;
    case 'submit-result': {
      const task = state.name === 'running' ? state.task : undefined;
      if (task?.taskId === value.taskId) children.answered(value);
      return;
    }
    case 'abort': {
      // An abort meant for an earlier task of a pooled runner must not reach the next one.
      const task = state.name === 'running' || state.name === 'finishing' ? state.task : undefined;
      if (task?.taskId === value.taskId) task.abort.abort(new AbortError(value.reason));
      return;
    }
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
