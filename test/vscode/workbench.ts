/** What a person does in the VS Code workbench, with the selectors VS Code's own smoke tests use. */
import type { FrameLocator, Locator, Page } from 'playwright-core';

export async function openWorkbench(page: Page, url: string, folder: string): Promise<void> {
  await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
  await page.waitForSelector('div.monaco-workbench', { timeout: 60_000 });
}

const quickInput = '.quick-input-widget';
const quickInputBox = `${quickInput} .quick-input-box input`;

/** F1, type the command's title, pick it. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page
    .locator('.monaco-workbench')
    .focus()
    .catch(() => undefined);
  await page.keyboard.press('F1');
  await page.waitForSelector(quickInputBox, { state: 'visible' });
  await page.fill(quickInputBox, `>${title}`);
  const row = page.locator(`${quickInput} .quick-input-list .monaco-list-row`, { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** Quick Open (the palette without its `>`): a file by name, or `:N` to go to line N. */
export async function quickOpen(page: Page, text: string, rowText?: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await page.waitForSelector(quickInputBox, { state: 'visible' });
  await page.fill(quickInputBox, text);
  if (rowText)
    await page
      .locator(`${quickInput} .quick-input-list .monaco-list-row`, { hasText: rowText })
      .first()
      .waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
}

/**
 * Picks the row of an open quick pick whose label is `label`, by typing it as a person would; a
 * Quick Open mode's prefix (`debug `) is typed but not part of the label.
 */
export async function pickItem(page: Page, label: string): Promise<void> {
  await page.waitForSelector(quickInputBox, { state: 'visible' });
  await page.fill(quickInputBox, label);
  const shown = label.replace(/^debug /, '');
  const row = page.locator(`${quickInput} .quick-input-list .monaco-list-row[aria-label*="${shown}"]`).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  // Clicked, not Enter: a fuzzy filter may leave another row first.
  await row.click();
}

/** Replaces the text of an open input box and presses Enter. */
export async function answerInput(page: Page, text: string, expectTitle?: string): Promise<void> {
  await page.waitForSelector(quickInputBox, { state: 'visible' });
  if (expectTitle)
    await page.locator(`${quickInput} .quick-input-title`, { hasText: expectTitle }).waitFor({ state: 'visible' });
  await page.fill(quickInputBox, text);
  await page.keyboard.press('Enter');
}

/** A row of the Tasks view, by the start of its accessible label (`Task 12 countTo running`). */
export function treeRow(page: Page, labelStart: string): Locator {
  return page.locator(`.monaco-list-row[aria-label^="${labelStart}"]`).first();
}

/**
 * Hovers a tree row and clicks one of its inline actions. While a view refreshes, VS Code runs an
 * inline action without its row (microsoft/vscode#144250, open): the command then asks for the
 * task id as if run from the palette. A person dismisses that prompt and clicks again; so does this,
 * up to three times.
 */
export async function clickInlineAction(page: Page, row: Locator, action: string): Promise<void> {
  const askedForId = page.locator(`${quickInput} .quick-input-title`, { hasText: 'task id' });
  for (let attempt = 1; ; attempt++) {
    await row.hover();
    await row.locator(`.action-label[aria-label="${action}"]`).click();
    const lostItsRow = await askedForId.waitFor({ state: 'visible', timeout: 1500 }).then(
      () => true,
      () => false,
    );
    if (!lostItsRow) return;
    if (attempt === 3)
      throw new Error(`The "${action}" action of a tree row ran without its row three times in a row.`);
    await page.keyboard.press('Escape');
  }
}

export function notification(page: Page, text: string): Locator {
  return page.locator('.notification-toast', { hasText: text }).first();
}

/** The text of the editor that has focus, as the view lines show it. */
export async function activeEditorText(page: Page): Promise<string> {
  return (await page.locator('.editor-instance .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

export async function activeTabTitle(page: Page): Promise<string> {
  return (await page.locator('.tabs-container .tab.active').first().innerText()).trim();
}

/** The page inside the visible webview editor (VS Code nests it in two iframes). */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready:visible').frameLocator('#active-frame');
}

/** Clicks an action of a view's title bar: its icon, or (`overflow`) an item of its "More Actions…" menu. */
export async function clickViewTitleAction(
  page: Page,
  view: string,
  action: string,
  options: { overflow?: boolean } = {},
): Promise<void> {
  const header = page.locator('.pane-header', { hasText: view }).first();
  await header.hover();
  if (!options.overflow) {
    await header.locator(`.action-label[aria-label="${action}"]`).click();
    return;
  }
  await header.locator('.action-label[aria-label="More Actions..."]').click();
  // A menu ignores the mouse-up of a click that comes right after it opened: hover, then Enter.
  await page.locator('.monaco-menu .action-item', { hasText: action }).first().hover();
  await page.keyboard.press('Enter');
}

/** The open quick pick or input box's title, once one is shown. */
export async function quickInputTitle(page: Page): Promise<string> {
  const title = page.locator(`${quickInput} .quick-input-title`);
  await title.waitFor({ state: 'visible' });
  return (await title.innerText()).trim();
}
