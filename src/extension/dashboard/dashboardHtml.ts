import type * as vscode from 'vscode';
import { webviewPage } from '../webviewPage';

/** The dashboard page's markup; the charts are drawn into it by its script. */
export function dashboardHtml(webview: vscode.Webview, files: { script: vscode.Uri; style: vscode.Uri }): string {
  const chart = (id: string, title: string, wide = false) =>
    `<section class="card${wide ? ' wide' : ''}"><h2 id="${id}-title">${title}</h2><div class="chart"><canvas id="${id}" role="img" aria-labelledby="${id}-title"></canvas></div><p class="empty" id="${id}-empty" hidden>Nothing in this window yet.</p></section>`;
  const body = `<header>
  <h1>Taskman</h1>
  <div class="windows" role="radiogroup" aria-label="Window">
    <button type="button" role="radio" data-window="hour" data-bucket="1">Last hour · per minute</button>
    <button type="button" role="radio" data-window="day" data-bucket="15">Last day · per 15 min</button>
    <button type="button" role="radio" data-window="day" data-bucket="30">Last day · per 30 min</button>
  </div>
  <span id="updated" class="updated" aria-live="polite"></span>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main id="charts" hidden>
  ${chart('ended', 'Tasks ended, by state', true)}
  ${chart('queue', 'Queue now')}
  ${chart('schedulers', 'Running tasks per scheduler')}
  ${chart('wait', 'Wait time (run after → started), p50 and p95')}
  ${chart('run', 'Run time (started → ended), p50 and p95')}
  ${chart('failures', 'Failure rate (failed and lost ÷ ended)', true)}
</main>`;
  return webviewPage(webview, { title: 'Taskman Dashboard', ...files, body });
}
