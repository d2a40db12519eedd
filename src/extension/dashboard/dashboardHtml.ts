import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

/**
 * The dashboard page: nothing inline but the one script tag, which carries a fresh nonce. The CSP
 * lets in only that script and the extension's own stylesheet (no CDN, no eval, no inline style).
 */
export function dashboardHtml(webview: vscode.Webview, files: { script: vscode.Uri; style: vscode.Uri }): string {
  const nonce = randomBytes(18).toString('base64');
  const csp = [`default-src 'none'`, `img-src ${webview.cspSource}`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
  const chart = (id: string, title: string, wide = false) =>
    `<section class="card${wide ? ' wide' : ''}"><h2 id="${id}-title">${title}</h2><div class="chart"><canvas id="${id}" role="img" aria-labelledby="${id}-title"></canvas></div><p class="empty" id="${id}-empty" hidden>Nothing in this window yet.</p></section>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${files.style.toString()}">
<title>Taskman Dashboard</title>
</head>
<body>
<header>
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
</main>
<script nonce="${nonce}" src="${files.script.toString()}"></script>
</body>
</html>`;
}
