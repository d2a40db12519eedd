import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../../../src/core';
import type { RenderedSummary } from '../../../src/webview/dashboardMessages';
import { extensionApi, runTaskOnceBack, type SuiteApi, waitFor } from './helpers';

type Drawn = Extract<RenderedSummary, { kind: 'statistics' }>;

describe('the dashboard', () => {
  let api: SuiteApi;
  let panel: vscode.WebviewPanel;
  /** What the page reports it drew, once it matches. */
  const drawn = (what: string, matches: (summary: Drawn) => boolean, timeoutMs?: number) =>
    waitFor(
      what,
      () => {
        const summary = api.testing.dashboard.lastRendered;
        return summary?.kind === 'statistics' && matches(summary) ? summary : undefined;
      },
      timeoutMs,
    );

  before(async () => {
    api = await extensionApi();
    await waitFor('the embedded scheduler to run', () => api.scheduler.running);
  });
  after(() => api.testing.dashboard.current?.dispose());

  it('Open Dashboard opens one webview panel, and opening it again reveals the same one', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('taskman.openDashboard'));
    panel = await vscode.commands.executeCommand<vscode.WebviewPanel>('taskman.openDashboard');
    assert.equal(panel.viewType, 'taskman.dashboard');
    assert.equal(panel.title, 'Taskman Dashboard');
    assert.match(
      panel.webview.html,
      /Content-Security-Policy" content="default-src 'none'; [^"]*script-src 'nonce-[^']+'/,
    );
    const extensionRoot = panel.webview
      .asWebviewUri(vscode.extensions.getExtension('taskman.taskman')!.extensionUri)
      .toString();
    const loaded = [...panel.webview.html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    assert.equal(loaded.length, 2, `a script and a stylesheet: ${loaded.join(', ')}`);
    for (const url of loaded)
      assert.ok(url.startsWith(extensionRoot), `${url} is loaded from the extension (${extensionRoot})`);
    const again = await vscode.commands.executeCommand<vscode.WebviewPanel>('taskman.openDashboard');
    assert.strictEqual(again, panel);
    // The tab model follows the workbench a moment later.
    const dashboardTabs = () =>
      vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter(
          (tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.includes('taskman.dashboard'),
        );
    const tabs = await waitFor(
      `a dashboard tab (tabs: ${vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .map((tab) => tab.label)
        .join(', ')})`,
      () => (dashboardTabs().length > 0 ? dashboardTabs() : undefined),
    );
    assert.equal(tabs.length, 1, 'one dashboard tab');
    assert.equal(tabs[0].label, 'Taskman Dashboard');
  });

  it("draws the database's numbers: a task run from this window ends, with its timings, under this window's scheduler", async () => {
    const id = await vscode.commands.executeCommand<string>('taskman.runTask', {
      task: 'countTo',
      payload: { n: 2, stepMs: 20 },
    });
    const taskman = await api.taskman();
    await waitFor('the task to succeed', async () => (await taskman.get(id)).state === 'succeeded');
    const summary = await drawn(
      'the page to draw the task',
      (s) => s.ended.succeeded >= 1 && s.taskLabels.includes('countTo · vscode-fixture'),
    );
    assert.equal(summary.charts, 6);
    assert.deepEqual(summary.window, { window: 'hour', bucketMinutes: 1 });
    assert.ok(
      summary.schedulerLabels.some((label) => label.endsWith('(this window)')),
      summary.schedulerLabels.join(', '),
    );
    const statistics = await taskman.statistics();
    const countTo = statistics.tasks.find(
      (entry) => entry.task === 'countTo' && entry.application === 'vscode-fixture',
    );
    assert.ok(
      countTo?.run && countTo.run.p50Ms >= 30,
      `countTo ran for ${countTo?.run?.p50Ms} ms at the median (two steps of 20 ms)`,
    );
  });

  it('the last day in 15-minute buckets, on choosing it; an unknown window is refused with the ones there are', async () => {
    await api.testing.dashboard.choose({ window: 'day', bucketMinutes: 15 });
    const summary = await drawn(
      'the day, per 15 minutes',
      (s) => s.window.window === 'day' && s.window.bucketMinutes === 15,
    );
    assert.ok(summary.ended.succeeded >= 1);
    await assert.rejects(
      api.testing.dashboard.choose({ window: 'week' as 'day', bucketMinutes: 15 }),
      /window must be "hour" or "day", got "week"/,
    );
    await assert.rejects(api.testing.dashboard.choose({ window: 'day', bucketMinutes: 5 }), /15 min or 30 min; got 5/);
    assert.deepEqual(
      api.testing.dashboard.window,
      { window: 'day', bucketMinutes: 15 },
      'a refused choice changes nothing',
    );
    await api.testing.dashboard.choose({ window: 'hour', bucketMinutes: 1 });
    await drawn('the hour again', (s) => s.window.window === 'hour');
  });

  it('reads the database only while it is visible', async () => {
    assert.equal(api.testing.dashboard.polling, true);
    const document = await vscode.workspace.openTextDocument({ content: 'on top of the dashboard' });
    await vscode.window.showTextDocument(document, { viewColumn: panel.viewColumn, preview: false });
    await waitFor('the refresh to stop while hidden', () => !api.testing.dashboard.polling);
    api.testing.dashboard.lastRendered = undefined;
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    panel.reveal();
    await waitFor('the refresh to run again', () => api.testing.dashboard.polling);
    await drawn('the page, made again, to draw the charts', () => true);
  });

  it('says plainly that the database is away, and draws the charts again by itself when it is back', async function () {
    this.timeout(180_000);
    const dataDir = process.env.TASKMAN_VSCODE_DB_DIR!;
    await stopEmbeddedServer({ dataDir });
    const away = await waitFor(
      'the page to say the database is away',
      () => {
        const summary = api.testing.dashboard.lastRendered;
        return summary?.kind === 'unavailable' ? summary : undefined;
      },
      60_000,
    );
    assert.match(away.message, /^(Cannot read the database|The database is unavailable)/);
    assert.match(away.message, /retrying|come back by themselves/i);
    await ensureEmbeddedServer({ dataDir });
    await drawn('the charts to come back', () => true, 60_000);
    // The suites after this one start from a working window: a task runs again.
    const id = await runTaskOnceBack();
    await waitFor(
      'the task to succeed after the outage',
      async () => (await (await api.taskman()).get(id)).state === 'succeeded',
      60_000,
    );
  });
});
