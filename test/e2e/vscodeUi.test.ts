/**
 * Taskman tried as a person would: the packaged .vsix installed into code-server, driven by
 * clicks and keys in Chromium, a screenshot at each step (test-results/vscode-ui/).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ensureEmbeddedServer, stopEmbeddedServer, Taskman } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { type CodeServer, launchBrowser, startCodeServer } from '../vscode/codeServer';
import { editConfigInvalidTwice, runFromCodeLensAndDebugPicker } from '../vscode/uiEditorSteps';
import { askFromPalette, demoWorkspace, packageForUi, submittedTask, UiSession } from '../vscode/uiSession';
import {
  activeTabTitle,
  clickInlineAction,
  clickViewTitleAction,
  notification,
  openWorkbench,
  pickItem,
  quickInputTitle,
  quickOpen,
  runCommand,
  treeRow,
  webview,
} from '../vscode/workbench';

const vsix = path.join(repoRoot, 'out', 'taskman-ui-test.vsix');

describe('Taskman in VS Code, as a person uses it (the packaged .vsix)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-ui-db-'));
  let url: string;
  let client: Taskman;
  let browser: Browser;
  let server: CodeServer | undefined;
  let page: Page;
  const session = new UiSession('vscode-ui');
  const shot = (name: string) => session.shot(name);
  const evidence = <T>(body: () => Promise<T>) => session.evidence(body);
  const open = async (options: { trusted: boolean }) => {
    const workspace = demoWorkspace(url);
    server = session.server = await startCodeServer({
      workspace,
      trusted: options.trusted,
      installVsix: vsix,
      env: { TASKMAN_DATA_DIR: dataDir },
    });
    page = session.page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    return workspace;
  };

  before(async () => {
    packageForUi(vsix);
    url = (await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] })).url;
    client = await Taskman.connect({ url });
    browser = await launchBrowser();
  });

  after(async () => {
    if (page) await shot('end');
    await browser?.close();
    await server?.stop();
    await client?.close();
    await stopEmbeddedServer({ dataDir });
  });

  /** Runs (or debugs) a task from the command palette; returns the new task. */
  async function runFromPalette(command: 'Run' | 'Debug', task: string, payload: string) {
    await askFromPalette(page, command, task, payload, () =>
      task === 'generateReport' ? shot('pick-task') : Promise.resolve(),
    );
    return submittedTask(client, task);
  }

  it('opens examples/demo with the Taskman view', { timeout: 120_000 }, () =>
    evidence(async () => {
      const workspace = await open({ trusted: true });
      await openWorkbench(page, server!.url, workspace);
      await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
      await page.locator('.pane-header', { hasText: 'Tasks' }).first().waitFor();
      await page.locator('.pane-header', { hasText: 'Schedulers' }).first().waitFor();
      await page.locator('.monaco-list-row[aria-label*="this window"]').waitFor({ timeout: 60_000 });
      await shot('taskman-view');
    }),
  );

  it(
    'runs a task from the command palette with a payload and watches it progress and succeed',
    { timeout: 120_000 },
    () =>
      evidence(async () => {
        const task = await runFromPalette('Run', 'generateReport', '{"month": "2026-11", "sections": 6}');
        await treeRow(page, `Task ${task.id} generateReport running`).waitFor({ timeout: 30_000 });
        await page
          .locator(`.monaco-list-row[aria-label^="Task ${task.id} generateReport running"] .label-description`, {
            hasText: '%',
          })
          .waitFor({ timeout: 30_000 });
        await shot('running-with-progress');
        await treeRow(page, `Task ${task.id} generateReport succeeded`).waitFor({ timeout: 30_000 });
        await notification(page, 'generateReport').waitFor({ timeout: 15_000 });
        await shot('succeeded-and-notified');
      }),
  );

  it(
    'a click on a row opens its task page; the title buttons then still ask what they should',
    { timeout: 90_000 },
    () =>
      evidence(async () => {
        const [task] = await client.list({ task: 'generateReport', limit: 1 });
        const row = treeRow(page, `Task ${task.id} generateReport succeeded`);
        await row.click();
        await page
          .locator('.tabs-container .tab.active', { hasText: `#${task.id} generateReport · succeeded` })
          .waitFor();
        const taskPage = webview(page);
        await taskPage.locator('pre.code', { hasText: '"month": "2026-11"' }).waitFor();
        await taskPage.locator('pre.code', { hasText: '"region": "eu-west"' }).waitFor();
        await taskPage.locator('.timeline li.done', { hasText: 'ended' }).waitFor();
        await shot('task-page');
        // The row keeps the focus: VS Code passes it to the title-bar commands, which must not take it for their input.
        await row.click();
        await clickViewTitleAction(page, 'Tasks', 'Run Task…');
        assert.match(await quickInputTitle(page), /Run Task — demo@/);
        await page.locator('.quick-input-list .monaco-list-row[aria-label*="summarizeSales"]').waitFor();
        await shot('run-task-after-a-row-click');
        await page.keyboard.press('Escape');
        await clickViewTitleAction(page, 'Tasks', 'Filter…');
        assert.match(await quickInputTitle(page), /show only these states and applications/);
        await page.keyboard.press('Escape');
        await clickViewTitleAction(page, 'Tasks', 'Search Tasks…');
        assert.match(await quickInputTitle(page), /Search Tasks/);
        await page.keyboard.press('Escape');
        await clickViewTitleAction(page, 'Tasks', 'Purge Ended Tasks…', { overflow: true });
        assert.match(await quickInputTitle(page), /Purge Ended Tasks — which states/);
        await page.keyboard.press('Escape');
        assert.equal(
          await page.locator('.notification-toast', { hasText: /is invalid|is not a function/ }).count(),
          0,
          'no command failed',
        );
      }),
  );

  it('aborts a long task from its inline action', { timeout: 90_000 }, () =>
    evidence(async () => {
      const task = await runFromPalette('Run', 'rebuildSearchIndex', '{"documents": 100000}');
      const row = treeRow(page, `Task ${task.id} rebuildSearchIndex running`);
      await row.waitFor({ timeout: 30_000 });
      await clickInlineAction(page, row, 'Abort');
      await shot('abort-clicked');
      await treeRow(page, `Task ${task.id} rebuildSearchIndex aborted`).waitFor({ timeout: 30_000 });
      assert.equal((await client.get(task.id)).abortReason, 'aborted from VS Code');
      // The user asked for it: the status bar says it ended, no toast does.
      await page
        .locator('.statusbar-item', { hasText: `rebuildSearchIndex (#${task.id}) aborted` })
        .waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('.notification-toast', { hasText: 'rebuildSearchIndex' }).count(), 0);
      await shot('aborted');
    }),
  );

  it(
    "opens a failed task's error from the notification and follows a stack frame into the source",
    { timeout: 90_000 },
    () =>
      evidence(async () => {
        const task = await runFromPalette('Run', 'importCustomers', '{"file": "ui.csv"}');
        await treeRow(page, `Task ${task.id} importCustomers failed`).waitFor({ timeout: 30_000 });
        const toast = notification(page, 'importCustomers');
        await toast.waitFor({ timeout: 15_000 });
        await shot('failure-notification');
        await toast.locator('a.monaco-button, .monaco-button', { hasText: 'Open Task' }).click();
        await page
          .locator('.tabs-container .tab.active', { hasText: `#${task.id} importCustomers · failed` })
          .waitFor();
        const taskPage = webview(page);
        await taskPage.locator('.error-text', { hasText: 'SyntaxError' }).waitFor();
        assert.equal(
          await taskPage.locator('.frame', { hasText: 'runner.js' }).count(),
          0,
          "Taskman's own frames are hidden",
        );
        await shot('task-page-failed');
        await taskPage.locator('a.frame-link', { hasText: 'tasks.js:' }).first().click();
        await page.locator('.tabs-container .tab.active', { hasText: 'tasks.js' }).waitFor({ timeout: 15_000 });
        assert.equal(await activeTabTitle(page), 'tasks.js');
        await shot('stack-frame-opened');
      }),
  );

  it(
    'debugs the TypeScript task: a breakpoint set with F9 stops it, the debug toolbar shows, F5 lets it finish',
    { timeout: 120_000 },
    () =>
      evidence(async () => {
        const line =
          fs
            .readFileSync(path.join(repoRoot, 'examples', 'demo', 'src', 'images.ts'), 'utf8')
            .split('\n')
            .findIndex((text) => text.includes('const resized: ResizedImage[]')) + 1;
        await quickOpen(page, 'images.ts', 'images.ts');
        await page.locator('.tabs-container .tab.active', { hasText: 'images.ts' }).waitFor();
        await quickOpen(page, `:${line}`, `Go to line ${line}`);
        await page
          .locator('.statusbar-item', { hasText: `Ln ${line},` })
          .first()
          .waitFor();
        await page.keyboard.press('F9');
        await page.locator('.codicon-debug-breakpoint').first().waitFor();
        await shot('breakpoint-set');
        const task = await runFromPalette('Debug', 'resizeImages', '{"images": ["a.png", "b.jpg"], "width": 640}');
        await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });
        await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 60_000 });
        assert.equal(await activeTabTitle(page), 'images.ts');
        assert.equal((await client.get(task.id)).state, 'running');
        await shot('paused-at-breakpoint');
        // The sidebar switched to Run and Debug; in the Tasks view the row says it is paused.
        await runCommand(page, 'Taskman: Focus on Tasks View');
        await treeRow(page, `Task ${task.id} resizeImages running paused at a breakpoint`).waitFor({ timeout: 30_000 });
        await shot('paused-row');
        await page.keyboard.press('F5');
        await waitFor('the debugged task to succeed', async () => (await client.get(task.id)).state === 'succeeded', {
          timeoutMs: 60_000,
        });
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
        assert.deepEqual((await client.get(task.id)).result, {
          resized: [
            { name: 'a-640.png', width: 640, height: 480 },
            { name: 'b-640.jpg', width: 640, height: 480 },
          ],
        });
        await shot('debug-finished');
      }),
  );

  it(
    'opens the dashboard from the Tasks view: charts of what ended, the queue, the schedulers',
    { timeout: 60_000 },
    () =>
      evidence(async () => {
        await runCommand(page, 'View: Hide Panel');
        await clickViewTitleAction(page, 'Tasks', 'Open Dashboard');
        await page.locator('.tabs-container .tab.active', { hasText: 'Dashboard' }).waitFor();
        const dashboard = webview(page);
        await dashboard.locator('main#charts:not([hidden]) canvas#ended').waitFor({ timeout: 30_000 });
        await dashboard.locator('h2', { hasText: 'Tasks ended per minute, by state' }).waitFor();
        assert.equal(
          await dashboard.locator('#ended-empty:not([hidden])').count(),
          0,
          'tasks ended in the last hour are drawn',
        );
        await shot('dashboard');
        await runCommand(page, 'View: Close Editor');
      }),
  );

  it('grouped by task, a row follows its task from running to succeeded', { timeout: 90_000 }, () =>
    evidence(async () => {
      await runCommand(page, 'Taskman: Group Tasks By…');
      await pickItem(page, 'Task');
      await page.locator('.monaco-list-row[aria-label^="generateReport tasks"]').waitFor();
      const { id } = await client.submit({
        application: 'demo',
        task: 'generateReport',
        payload: { month: '2026-10', sections: 3 },
      });
      await treeRow(page, `Task ${id} generateReport running`).waitFor({ timeout: 30_000 });
      await treeRow(page, `Task ${id} generateReport succeeded`).waitFor({ timeout: 30_000 });
      await shot('grouped-by-task');
      await runCommand(page, 'Taskman: Group Tasks By…');
      await pickItem(page, 'State');
      await page.locator('.monaco-list-row[aria-label^="Succeeded tasks"]').waitFor();
    }),
  );

  it(
    'with the Taskman view hidden, the status bar and the badge still follow a task to its end',
    { timeout: 90_000 },
    () =>
      evidence(async () => {
        const task = await runFromPalette('Run', 'generateReport', '{"month": "2026-12", "sections": 5}');
        await page.locator('.activitybar .action-label[aria-label^="Explorer"]').click();
        await page.locator('.pane-header', { hasText: 'Tasks' }).first().waitFor({ state: 'hidden' });
        const running = page.locator('.statusbar-item', { hasText: 'Taskman: 1 running' });
        const badge = page.locator(
          '.activitybar .action-item:has(.action-label[aria-label^="Taskman"]) .badge-content',
        );
        await running.waitFor({ timeout: 30_000 });
        await badge.filter({ hasText: '1' }).waitFor();
        await shot('hidden-view-running');
        await waitFor('the task to end', async () => (await client.get(task.id)).state === 'succeeded', {
          timeoutMs: 60_000,
        });
        await running.waitFor({ state: 'hidden', timeout: 15_000 });
        await badge.waitFor({ state: 'hidden' });
        await shot('hidden-view-ended');
        await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
      }),
  );

  it(
    'runs a task from its source with the CodeLens, and lists the tasks under Select and Start Debugging',
    { timeout: 90_000 },
    () =>
      evidence(async () => {
        await runFromCodeLensAndDebugPicker({ page, client, shot });
      }),
  );

  it(
    'a config saved invalid mid-edit, twice, is one problem, no message, and the scheduler keeps running',
    { timeout: 90_000 },
    () =>
      evidence(async () => {
        await editConfigInvalidTwice({ page, client, shot });
      }),
  );

  it('an untrusted window shows tasks but runs none; once trusted, it runs them', { timeout: 120_000 }, () =>
    evidence(async () => {
      await page.close();
      await server?.stop();
      const schedulersBefore = new Set((await client.listSchedulers()).map((s) => s.id));
      const workspace = await open({ trusted: false });
      const { id } = await client.submit({ application: 'demo', task: 'summarizeSales', payload: { year: 2025 } });
      await openWorkbench(page, server!.url, workspace);
      const distrust = page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust" });
      await distrust.waitFor({ timeout: 30_000 });
      await shot('trust-prompt');
      await distrust.click();
      await page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 30_000 });
      await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
      await treeRow(page, `Task ${id} summarizeSales pending`).waitFor({ timeout: 60_000 });
      // The Schedulers view says why this window runs nothing: the decision has been made.
      await page.locator('.pane-body', { hasText: 'workspace not trusted' }).first().waitFor({ timeout: 30_000 });
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor();
      await shot('untrusted-shows-pending');
      const task = await client.get(id);
      assert.deepEqual([task.state, task.attempt], ['pending', 0]);
      assert.deepEqual(
        (await client.listSchedulers()).filter((s) => !schedulersBefore.has(s.id)),
        [],
        'no scheduler registered from the untrusted window',
      );

      // Trust granted: the scheduler starts and the waiting task runs, without a reload.
      await runCommand(page, 'Workspaces: Manage Workspace Trust');
      await page
        .locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ })
        .first()
        .click();
      await shot('trust-granted');
      await waitFor(
        'the task to run once the workspace is trusted',
        async () => (await client.get(id)).state === 'succeeded',
        { timeoutMs: 60_000 },
      );
      // The Taskman container is still the active one: clicking its icon would hide the sidebar.
      if (!(await page.locator('.pane-header', { hasText: 'Tasks' }).first().isVisible()))
        await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
      await treeRow(page, `Task ${id} summarizeSales succeeded`).waitFor({ timeout: 30_000 });
      await shot('trusted-ran-it');
    }),
  );
});
