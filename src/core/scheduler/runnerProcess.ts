import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { ApplicationConfig, Runtime } from '../config';
import { assertNever, isRunnerMessage, type ParentMessage, type RunnerMessage } from '../protocol';
import { FencedStream, newOutputFence } from './outputFence';
import { OutputTail } from './outputTail';

/** How a runner process ended, as seen from the scheduler. */
export interface RunnerExit {
  /** The runner's final word, if it said one before exiting. */
  final: Extract<RunnerMessage, { type: 'succeeded' | 'failed' | 'task-list' | 'task-list-failed' }> | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last bytes of stdout and stderr, interleaved as they arrived. */
  output: string;
  /** A spawn error (binary not found, …), if the process never ran. */
  spawnError: Error | undefined;
}

export interface RunnerProcessOptions {
  app: ApplicationConfig;
  /** Absolute path of dist/runner.js (a Python application's runner.py is beside it). */
  runnerScript: string;
  outputLimitBytes: number;
  /** Extra interpreter flags for this run only (e.g. Node's inspector when debugging). */
  extraExecArgv?: string[];
  /** Variables added to the runner's environment (e.g. TASKMAN_TASK_ID). */
  extraEnv?: Record<string, string>;
}

/** What a scheduler hears from a runner during one task. */
export interface RunListeners {
  onProgress?: (percent: number | null, message: string | null) => void;
  onOutput?: (chunk: Buffer) => void;
  /** `ctx.submit`: the answer goes back as a `submit-result`. */
  onSubmit?: (request: Extract<RunnerMessage, { type: 'submit' }>) => void;
}

type StartMessage = Extract<ParentMessage, { type: 'start' }>;

/**
 * How long a pooled task's answer waits for its output fence after its final message. Taskman's
 * runners write it at once (or the stream ends): this bounds the wait for a runner that does not.
 */
const FENCE_WAIT_MS = 1000;

/** Variables a runner inherits from the scheduler; everything else comes from the application config. */
const INHERITED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SYSTEMROOT',
  'COMSPEC',
  'WINDIR',
];

export function runnerEnvironment(
  app: Pick<ApplicationConfig, 'env' | 'modulePaths'> & { runtime?: Runtime },
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('LC_')) env[name] = value;
  // Python buffers output to a pipe until it exits: the live log tail and a crash's last words need it unbuffered.
  if (app.runtime === 'python') env.PYTHONUNBUFFERED = '1';
  Object.assign(env, app.env);
  if (app.modulePaths.length)
    env[app.runtime === 'python' ? 'PYTHONPATH' : 'NODE_PATH'] = app.modulePaths.join(path.delimiter);
  Object.assign(env, extra);
  return env;
}

/** The Python runner (src/runner-python, standard library only), shipped beside the Node runner's script. */
export const PYTHON_RUNNER_FILE = 'runner.py';

/** The interpreter and its arguments that start a runner of `app`: Node with runner.js, or Python with runner.py. */
export function runnerCommand(
  app: Pick<ApplicationConfig, 'runtime' | 'node' | 'python' | 'execArgv'>,
  runnerScript: string,
  extraExecArgv: string[] = [],
): { command: string; args: string[] } {
  if (app.runtime === 'python')
    return {
      command: app.python,
      args: [...app.execArgv, ...extraExecArgv, path.join(path.dirname(runnerScript), PYTHON_RUNNER_FILE)],
    };
  return { command: app.node, args: [...app.execArgv, ...extraExecArgv, runnerScript] };
}

/**
 * One runner child process. It is the leader of its own process group, so that stopping it also
 * stops whatever it spawned: a task's child that outlives the runner is killed with the group.
 */
export class RunnerProcess {
  readonly exited: Promise<RunnerExit>;
  private readonly child: ChildProcess;
  private readonly output: OutputTail;
  private final: RunnerExit['final'];
  private killTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private listeners: RunListeners = {};
  /** Resolves the current pooled run when its final message arrives. */
  private onFinal: ((exit: RunnerExit) => void) | undefined;
  private currentTaskId: string | undefined;
  /** Tasks started in this process so far. */
  tasksRun = 0;
  private readonly fence = newOutputFence();
  private readonly streams: FencedStream[];
  /** Fences each stream must have shown before the current pooled task's answer holds all of its output. */
  private fencesWanted = 0;
  /** The current pooled task's answer, once its final message came, waiting for its fences. */
  private answerOnFence: (() => void) | undefined;

  constructor(options: RunnerProcessOptions) {
    this.output = new OutputTail(options.outputLimitBytes);
    const { app } = options;
    const { command, args } = runnerCommand(app, options.runnerScript, options.extraExecArgv);
    this.child = spawn(command, args, {
      cwd: app.root,
      env: runnerEnvironment(app, options.extraEnv),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
      windowsHide: true,
    });
    this.streams = [this.child.stdout, this.child.stderr].flatMap((stream) => {
      if (!stream) return [];
      const fenced = new FencedStream(
        this.fence,
        (chunk) => this.onOutput(chunk),
        () => this.answerIfFenced(),
      );
      stream.on('data', (chunk: Buffer) => fenced.push(chunk));
      stream.on('close', () => fenced.end());
      return [fenced];
    });
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.on('error', (error) => {
        spawnError ??= error;
        if (this.child.pid === undefined) finish(null, null);
      });
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
        if (this.ended) return;
        this.ended = true;
        if (this.killTimer) clearTimeout(this.killTimer);
        // The child's `close` can come before a stream's own: what a stream still holds back is output.
        for (const stream of this.streams) stream.end();
        resolve({ final: this.final, exitCode, signal, output: this.output.text(), spawnError });
      };
      this.child.on('exit', (exitCode, signal) => {
        // Whatever the runner left behind in its group goes with it; then the pipes can close.
        this.signalGroup('SIGKILL');
        const closeTimer = setTimeout(() => {
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
          finish(exitCode, signal);
        }, 2000);
        this.child.once('close', () => {
          clearTimeout(closeTimer);
          finish(exitCode, signal);
        });
      });
    });
    this.child.on('message', (message) => this.onMessage(message));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The current task's output so far (its last `outputLimitBytes`). */
  outputText(): string {
    return this.output.text();
  }

  /** The process is still there (it may be between tasks, if pooled). */
  get alive(): boolean {
    return !this.ended;
  }

  /**
   * Starts a task. The answer comes when the runner exits, or, for a pooled runner
   * (`keepAlive`), as soon as it sends the task's final message; its output is that task's alone.
   */
  run(message: StartMessage, listeners: RunListeners = {}): Promise<RunnerExit> {
    this.listeners = listeners;
    this.final = undefined;
    this.output.clear();
    this.currentTaskId = message.taskId;
    this.tasksRun++;
    const answered = message.keepAlive ? new Promise<RunnerExit>((resolve) => (this.onFinal = resolve)) : undefined;
    if (message.keepAlive) this.fencesWanted++;
    this.send(message.keepAlive ? { ...message, outputFence: this.fence } : message);
    return answered ? Promise.race([answered, this.exited]) : this.exited;
  }

  send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message, (error) => void error);
  }

  /** Asks the task to stop (its AbortSignal fires); the scheduler escalates if it does not. */
  abort(reason: string): void {
    if (this.currentTaskId !== undefined) this.send({ type: 'abort', taskId: this.currentTaskId, reason });
  }

  /** SIGTERM to the whole group, then SIGKILL after `graceMs` if it is still there. */
  terminate(graceMs: number): void {
    if (this.ended) return;
    this.signalGroup('SIGTERM');
    this.killTimer ??= setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
  }

  kill(): void {
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  private onOutput(chunk: Buffer): void {
    this.output.push(chunk);
    this.listeners.onOutput?.(chunk);
  }

  /** Answers the pooled task whose final message came once both streams showed its fence (or ended). */
  private answerIfFenced(): void {
    if (this.fenced()) this.answerOnFence?.();
  }

  private fenced(): boolean {
    return this.streams.every((stream) => stream.ended || stream.fences >= this.fencesWanted);
  }

  private onMessage(message: unknown): void {
    if (!isRunnerMessage(message)) return;
    switch (message.type) {
      case 'ready':
        return;
      case 'progress':
        this.listeners.onProgress?.(message.percent, message.message);
        return;
      case 'submit':
        this.listeners.onSubmit?.(message);
        return;
      case 'succeeded':
      case 'failed':
      case 'task-list':
      case 'task-list-failed': {
        this.final ??= message;
        const onFinal = this.onFinal;
        this.onFinal = undefined;
        if (!onFinal) return;
        const answer = () =>
          onFinal({ final: message, exitCode: null, signal: null, output: this.output.text(), spawnError: undefined });
        if (this.fenced()) return answer();
        // No timer per task on the hot path: only an answer that waits for its fences has one.
        const timer = setTimeout(() => this.answerOnFence?.(), FENCE_WAIT_MS);
        this.answerOnFence = () => {
          clearTimeout(timer);
          this.answerOnFence = undefined;
          answer();
        };
        return;
      }
      default:
        assertNever(message);
    }
  }
}
