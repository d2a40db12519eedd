import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TaskPagePanel } from '../../../src/extension/taskPage/taskPagePanel';
import type { TaskPageModel } from '../../../src/extension/taskPage/taskPageProtocol';
import { extensionApi, type SuiteApi, waitFor } from './helpers';

const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

/** The model the page last rendered, once it satisfies `check`. */
function pageShows(
  page: TaskPagePanel,
  what: string,
  check: (model: TaskPageModel) => boolean,
  timeoutMs?: number,
): Promise<TaskPageModel> {
  return waitFor(
    `the task page to show ${what}`,
    () => {
      const update = page.lastUpdate;
      return update?.type === 'task' && check(update.model) ? update.model : undefined;
    },
    timeoutMs,
  );
}

describe('the task page', () => {
  let api: SuiteApi;

  before(async () => {
    api = await extensionApi();
    await waitFor('the embedded scheduler to run', () => api.scheduler.running);
  });

  afterEach(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  it('is live while the task runs: state, progress, timeline and the logs tailing; one page per task, titled', async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'chatty',
      payload: { lines: 6, stepMs: 400 },
    });
    const page = await vscode.commands.executeCommand<TaskPagePanel>('taskman.openTask', id);
    const running = await pageShows(
      page,
      'the logs of the running task',
      (m) => m.state === 'running' && /line 2 of 6/.test(m.logs),
      30_000,
    );
    assert.equal(page.panel.title, `#${id} chatty · running`);
    assert.equal(running.timeline.map((step) => step.label).join(' → '), 'created → claimed → started → ended');
    assert.ok(running.timeline[2].at && !running.timeline[3].at);
    assert.deepEqual(running.actions, { abort: true, rerun: false, debugRerun: false, delete: false });
    assert.match(running.durations, /waited .* · running /);
    assert.equal(
      await vscode.commands.executeCommand('taskman.openTask', id),
      page,
      'opened again, the same page comes to the front',
    );

    const done = await pageShows(page, 'the task succeeded', (m) => m.state === 'succeeded', 30_000);
    assert.equal(page.panel.title, `#${id} chatty · succeeded`);
    assert.deepEqual(JSON.parse(done.resultText!), { lines: 6 });
    assert.match(done.logs, /line 6 of 6/);
    assert.deepEqual(done.actions, { abort: false, rerun: true, debugRerun: true, delete: true });
    assert.ok(done.details.some((d) => d.label === 'Scheduler' && d.value === `#${api.scheduler.id}`));
  });

  it("shows a failure with its stack, Taskman's frames left out, and opens a workspace frame at its line", async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'explode',
      payload: { reason: 'page' },
    });
    const page = await vscode.commands.executeCommand<TaskPagePanel>('taskman.openTask', id);
    const failed = await pageShows(page, 'the failure', (m) => m.state === 'failed', 30_000);
    assert.deepEqual(failed.error, { name: 'TypeError', message: 'exploded: page', code: null });
    assert.ok(
      failed.frames.every((frame) => !/runner\.js/.test(frame.text)),
      failed.frames.map((f) => f.text).join('\n'),
    );
    const index = failed.frames.findIndex((frame) => frame.location?.file === path.join(workspace(), 'tasks.js'));
    assert.ok(index >= 0, 'a frame in tasks.js is a link');
    await page.handle({ type: 'openFrame', index });
    const editor = await waitFor('tasks.js to open', () =>
      vscode.window.activeTextEditor?.document.uri.fsPath === path.join(workspace(), 'tasks.js')
        ? vscode.window.activeTextEditor
        : undefined,
    );
    assert.equal(editor.selection.active.line + 1, failed.frames[index].location!.line);
  });

  it('reruns with an edited payload, refuses one that is not JSON, and shows the lineage both ways', async () => {
    const taskman = await api.taskman();
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 1, stepMs: 10 },
    });
    const page = await vscode.commands.executeCommand<TaskPagePanel>('taskman.openTask', id);
    await pageShows(page, 'the task succeeded', (m) => m.state === 'succeeded', 30_000);
    const before = (await taskman.list({ rerunOf: id })).length;
    await page.handle({ type: 'rerunWithPayload', payloadText: '{"n": 2,' });
    assert.equal(page.lastUpdate?.type, 'payloadError');
    assert.match((page.lastUpdate as { message: string }).message, /^Not valid JSON, nothing was submitted: /);
    assert.equal((await taskman.list({ rerunOf: id })).length, before, 'nothing submitted');

    await page.handle({ type: 'rerunWithPayload', payloadText: '{"n": 2, "stepMs": 10}' });
    const [rerun] = await taskman.list({ rerunOf: id });
    assert.deepEqual(rerun.payload, { n: 2, stepMs: 10 });
    const rerunPage = api.testing.taskPages.get(rerun.id)!;
    assert.ok(rerunPage, "the rerun's page opened");
    const shown = await pageShows(rerunPage, 'what it reruns', (m) => m.rerunOf?.id === id);
    assert.equal(shown.rerunOf?.state, 'succeeded');
    page.reveal();
    await pageShows(page, 'its rerun', (m) => m.reruns.some((r) => r.id === rerun.id));
  });
});
