/**
 * A new user's first minutes, in the packaged .vsix: no database configured. The question is asked
 * once; dismissed, it is not asked again, and the Tasks view offers the same choice.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { ensureEmbeddedServer, stopEmbeddedServer, Taskman } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { launchBrowser, startCodeServer } from '../vscode/codeServer';
import { demoWorkspace, packageForUi, UiSession } from '../vscode/uiSession';
import { notification, openWorkbench, runCommand, treeRow } from '../vscode/workbench';

const vsix = path.join(repoRoot, 'out', 'taskman-ui-first-run.vsix');

describe('Taskman in VS Code for the first time, with no database configured', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-ui-first-'));
  const session = new UiSession('vscode-ui-first-run');
  let client: Taskman;
  let browser: Browser;

  before(async () => {
    packageForUi(vsix);
    // "The embedded database" of this window: TASKMAN_DATA_DIR points the extension at this server.
    client = await Taskman.connect({
      url: (await ensureEmbeddedServer({ dataDir, serverArgs: ['--innodb-flush-log-at-trx-commit=2'] })).url,
    });
    browser = await launchBrowser();
  });

  after(async () => {
    if (session.page) await session.shot('end');
    await browser?.close();
    await session.server?.stop();
    await client?.close();
    await stopEmbeddedServer({ dataDir });
  });

  it(
    'asks once; dismissed, it does not ask again; the view offers the choice, and Use Embedded Database connects',
    { timeout: 150_000 },
    () =>
      session.evidence(async () => {
        const { id } = await client.submit({ application: 'demo', task: 'summarizeSales', payload: { year: 2024 } });
        const workspace = demoWorkspace();
        session.server = await startCodeServer({
          workspace,
          trusted: true,
          installVsix: vsix,
          env: { TASKMAN_DATA_DIR: dataDir },
        });
        const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
        session.page = page;
        await openWorkbench(page, session.server.url, workspace);
        await page.locator('.activitybar .action-label[aria-label^="Taskman"]').click();
        const question = notification(page, 'Taskman has no database configured');
        await question.waitFor({ timeout: 60_000 });
        const welcome = page.locator('.welcome-view-content', { hasText: 'none is configured yet' });
        await welcome.waitFor();
        await session.shot('first-run-question');

        await question.hover();
        await question.locator('.action-label[aria-label^="Clear Notification"]').click();
        await question.waitFor({ state: 'hidden' });
        // What asked again before (the scheduler reconciling, the views refreshing) now leaves it be.
        await runCommand(page, 'Taskman: Refresh');
        await page.locator('.statusbar-item', { hasText: 'Taskman: no database' }).waitFor();
        await page
          .locator('.pane-body', { hasText: "This window's scheduler: no database configured" })
          .first()
          .waitFor();
        await welcome.waitFor();
        assert.equal(
          await page.locator('.notification-toast', { hasText: 'no database configured' }).count(),
          0,
          'not asked again',
        );
        await session.shot('first-run-welcome');

        await welcome.locator('.monaco-button', { hasText: 'Use Embedded Database' }).click();
        await page.locator('.monaco-list-row[aria-label*="this window"]').waitFor({ timeout: 60_000 });
        await treeRow(page, `Task ${id} summarizeSales succeeded`).waitFor({ timeout: 60_000 });
        assert.equal(
          await page.locator('.welcome-view-content', { hasText: 'none is configured yet' }).count(),
          0,
          'connected, the view no longer offers a database',
        );
        assert.equal((await client.get(id)).state, 'succeeded');
        await session.shot('first-run-connected');
      }),
  );
});
