/**
 * Steps of the UI test (test/e2e/vscodeUi.test.ts) that work in the editor: a task run from its
 * CodeLens and listed under Select and Start Debugging, and a config saved invalid mid-edit.
 * Each takes the session's page, a client of its database and its screenshot function.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { Taskman } from '../../src/core';
import { repoRoot } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { answerInput, pickItem, quickOpen, runCommand } from './workbench';

export interface UiStep {
  page: Page;
  client: Taskman;
  shot(name: string): Promise<unknown>;
}

export async function runFromCodeLensAndDebugPicker({ page, client, shot }: UiStep): Promise<void> {
  await runCommand(page, 'View: Close All Editors');
  await quickOpen(page, 'tasks.js', 'tasks.js');
  await page.locator('.tabs-container .tab.active', { hasText: 'tasks.js' }).waitFor();
  const summarizeLine =
    fs
      .readFileSync(path.join(repoRoot, 'examples', 'demo', 'tasks.js'), 'utf8')
      .split('\n')
      .findIndex((text) => text.startsWith('exports.summarizeSales')) + 1;
  await quickOpen(page, `:${summarizeLine}`, `Go to line ${summarizeLine}`);
  const line = page.locator('.view-line', { hasText: 'exports.summarizeSales' });
  await line.waitFor();
  // Lenses of lines scrolled out of sight stay in the page, hidden: only the visible ones count.
  const lenses = page.locator('.codelens-decoration a', { hasText: '▶ Run' }).filter({ visible: true });
  await lenses
    .first()
    .waitFor({ timeout: 30_000 })
    .catch(async (error: Error) => {
      const shown = await page
        .locator('.codelens-decoration')
        .evaluateAll((nodes) => nodes.map((node) => node.outerHTML).slice(0, 3));
      throw new Error(`${error.message}\nCodeLens decorations: ${shown.join('\n') || 'none'}`);
    });
  // The lens of a line sits just above it.
  const lineTop = (await line.boundingBox())!.y;
  let nearest = -1;
  let nearestGap = Infinity;
  for (let i = 0; i < (await lenses.count()); i++) {
    const gap = lineTop - (await lenses.nth(i).boundingBox())!.y;
    if (gap > 0 && gap < nearestGap) [nearest, nearestGap] = [i, gap];
  }
  assert.ok(nearest >= 0, 'a Run lens above summarizeSales');
  await shot('codelens');
  await lenses.nth(nearest).click();
  await answerInput(page, '{"year": 2023}', 'summarizeSales — payload');
  await answerInput(page, '', 'start before');
  const task = await waitFor('the task run from its CodeLens', async () =>
    (await client.list({ task: 'summarizeSales', limit: 5 })).find(
      (t) => (t.payload as { year?: number })?.year === 2023,
    ),
  );
  await waitFor('it to succeed', async () => (await client.get(task.id)).state === 'succeeded', {
    timeoutMs: 30_000,
  });

  await runCommand(page, 'Debug: Select and Start Debugging');
  // Its picker is Quick Open's "debug " mode: the prefix stays typed.
  await pickItem(page, 'debug Taskman Task');
  await page
    .locator('.quick-input-list .monaco-list-row[aria-label*="Taskman: resizeImages"]')
    .first()
    .waitFor({ timeout: 30_000 });
  await page.locator('.quick-input-list .monaco-list-row[aria-label*="Taskman: summarizeSales"]').first().waitFor();
  await shot('select-and-start-debugging');
  await page.keyboard.press('Escape');
}

export async function editConfigInvalidTwice({ page, client, shot }: UiStep): Promise<void> {
  const concurrencyLine =
    fs
      .readFileSync(path.join(repoRoot, 'examples', 'demo', 'taskman.config.json'), 'utf8')
      .split('\n')
      .findIndex((text) => text.includes('"concurrency"')) + 1;
  await quickOpen(page, 'taskman.config.json', 'taskman.config.json');
  await page.locator('.tabs-container .tab.active', { hasText: 'taskman.config.json' }).waitFor();
  const retype = async (text: string) => {
    await quickOpen(page, `:${concurrencyLine}`, `Go to line ${concurrencyLine}`);
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    // Deleted first: a quote typed over a selection would surround it instead.
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text);
    await page.keyboard.press('Control+S');
  };
  await retype('"concurrency": "four"');
  await retype('"concurrency": "fou"');
  await runCommand(page, 'View: Focus Problems');
  const problem = page.locator('.markers-panel .monaco-list-row', {
    hasText: 'must be an integer from 1 to 1000',
  });
  await problem.waitFor({ timeout: 30_000 });
  assert.equal(await problem.count(), 1, 'one Taskman problem, not one per save');
  await shot('invalid-config-one-problem');
  assert.equal(await page.locator('.notification-toast', { hasText: 'is invalid' }).count(), 0, 'no message per save');
  const { id } = await client.submit({ application: 'demo', task: 'summarizeSales', payload: { year: 2022 } });
  await waitFor('a task to run on the last valid config', async () => (await client.get(id)).state === 'succeeded', {
    timeoutMs: 30_000,
  });
  await retype('"concurrency": 4');
  await problem.waitFor({ state: 'hidden', timeout: 30_000 });
  await runCommand(page, 'View: Hide Panel');
}
