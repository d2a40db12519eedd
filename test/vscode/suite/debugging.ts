// Debugging a task from the Tasks view: breakpoints in the TypeScript task, the debug session's end
// aborting it, Debug Rerun, and a launch configuration that attaches. Part of the trusted suite
// (trusted.test.ts calls it where it runs, after the scheduler is up).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type SuiteApi, taskInTree, waitFor } from './helpers';

const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

export function describeDebugging(getApi: () => SuiteApi): void {
  describe('debugging a task', () => {
    let api: SuiteApi;
    const greetTs = () => path.join(workspace(), 'src', 'greet.ts');
    const firstLine = () =>
      fs
        .readFileSync(greetTs(), 'utf8')
        .split('\n')
        .findIndex((line) => line.includes('payload.name.trim()'));
    let stops: { session: vscode.DebugSession; body: { reason: string; threadId: number } }[] = [];
    let tracker: vscode.Disposable;
    // Sessions not yet terminated, by name. `activeDebugSession` is not used: it can keep naming a
    // child session after it terminated.
    const liveSessions = new Map<string, string>();
    let sessionEvents: vscode.Disposable[] = [];
    const sessionsEnded = () =>
      waitFor(
        `its debug sessions to end with it (live: ${[...liveSessions.values()].join(', ')})`,
        () => liveSessions.size === 0,
        30_000,
      );

    before(() => {
      api = getApi();
      sessionEvents = [
        vscode.debug.onDidStartDebugSession((session) => liveSessions.set(session.id, session.name)),
        vscode.debug.onDidTerminateDebugSession((session) => liveSessions.delete(session.id)),
      ];
      vscode.debug.addBreakpoints([
        new vscode.SourceBreakpoint(
          new vscode.Location(vscode.Uri.file(greetTs()), new vscode.Position(firstLine(), 0)),
        ),
      ]);
      tracker = vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (message: {
            type: string;
            event?: string;
            body?: { reason: string; threadId: number };
          }) => {
            if (message.type === 'event' && message.event === 'stopped') stops.push({ session, body: message.body! });
          },
        }),
      });
    });
    after(() => {
      tracker.dispose();
      for (const disposable of sessionEvents) disposable.dispose();
      vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    });

    /**
     * Continues the thread that stopped, in its own session. The Continue command acts on the
     * focused thread, which VS Code moves to a stopped one a moment after the stop arrives: sent
     * right after, it sometimes resumed nothing and the task stayed paused (seen in CI).
     */
    const resume = (stop: (typeof stops)[number]) =>
      stop.session.customRequest('continue', { threadId: stop.body.threadId });

    const newestGreet = async () => (await (await api.taskman()).list({ task: 'greet', limit: 1 }))[0];

    it('Debug Task stops at a breakpoint on the first line of the TypeScript task, shows it running, and it succeeds after Continue', async function () {
      this.timeout(120_000);
      stops = [];
      assert.equal(
        await vscode.commands.executeCommand('taskman.debugTask', { task: 'greet', payload: { name: ' Ada ' } }),
        true,
      );
      const stop = await waitFor(
        'a stop at the breakpoint',
        () => stops.find((s) => s.body.reason === 'breakpoint'),
        60_000,
      );
      const trace = (await stop.session.customRequest('stackTrace', { threadId: stop.body.threadId })) as {
        stackFrames: { line: number; source?: { path?: string } }[];
      };
      assert.ok(
        trace.stackFrames[0].source?.path?.endsWith(path.join('src', 'greet.ts')),
        JSON.stringify(trace.stackFrames[0]),
      );
      assert.equal(trace.stackFrames[0].line, firstLine() + 1);
      const task = await newestGreet();
      assert.equal(task.debugSchedulerId, api.scheduler.id, "pinned to this window's scheduler");
      // Starting a debug session switches the sidebar to Run and Debug; the Tasks view refreshes while shown.
      await vscode.commands.executeCommand('taskman.tasks.focus');
      await waitFor('the paused task to show as running', () => taskInTree(api, task.id)?.task.state === 'running');
      await resume(stop);
      await waitFor(
        'the task to succeed',
        async () => (await (await api.taskman()).get(task.id)).state === 'succeeded',
        60_000,
      );
      assert.deepEqual((await (await api.taskman()).get(task.id)).result, { greeting: 'Hello, Ada!' });
      await sessionsEnded();
    });

    it('stopping the debug session while paused aborts the task, "debug session ended"', async function () {
      this.timeout(120_000);
      stops = [];
      assert.equal(
        await vscode.commands.executeCommand('taskman.debugTask', { task: 'greet', payload: { name: 'Grace' } }),
        true,
      );
      await waitFor('a stop at the breakpoint', () => stops.find((s) => s.body.reason === 'breakpoint'), 60_000);
      const task = await newestGreet();
      await vscode.debug.stopDebugging();
      let state = '';
      await waitFor(
        `task ${task.id} to be aborted (last seen: ${state})`,
        async () => {
          state = (await (await api.taskman()).get(task.id)).state;
          return state === 'aborted';
        },
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; its state was ${state}`);
      });
      assert.equal((await (await api.taskman()).get(task.id)).abortReason, 'debug session ended');
    });

    it('Debug Rerun debugs a new run of an ended task with its payload', async function () {
      this.timeout(120_000);
      const original = await newestGreet();
      stops = [];
      assert.equal(await vscode.commands.executeCommand('taskman.debugRerun', original.id), true);
      const stop = await waitFor(
        'a stop at the breakpoint',
        () => stops.find((s) => s.body.reason === 'breakpoint'),
        60_000,
      );
      const rerun = await newestGreet();
      assert.notEqual(rerun.id, original.id);
      assert.deepEqual(rerun.payload, original.payload);
      await resume(stop);
      await waitFor(
        'the rerun to succeed',
        async () => (await (await api.taskman()).get(rerun.id)).state === 'succeeded',
        60_000,
      );
      await sessionsEnded();
    });

    it('a "taskman" launch configuration resolves to an attach to the paused task', async function () {
      this.timeout(120_000);
      stops = [];
      const folder = vscode.workspace.workspaceFolders![0];
      assert.equal(
        await vscode.debug.startDebugging(folder, {
          type: 'taskman',
          request: 'launch',
          name: 'Debug greet',
          task: 'greet',
          payload: { name: 'Linus' },
        }),
        true,
      );
      const stop = await waitFor(
        'a stop at the breakpoint',
        () => stops.find((s) => s.body.reason === 'breakpoint'),
        60_000,
      );
      const task = await newestGreet();
      assert.deepEqual(task.payload, { name: 'Linus' });
      await resume(stop);
      await waitFor(
        'the task to succeed',
        async () => (await (await api.taskman()).get(task.id)).state === 'succeeded',
        60_000,
      );
      await assert.rejects(
        Promise.resolve(
          vscode.debug.startDebugging(folder, { type: 'taskman', request: 'launch', name: 'no task', task: '' }),
        ).then((ok) => {
          if (!ok) throw new Error('refused');
        }),
      );
    });
  });
}
