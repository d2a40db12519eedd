import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

/**
 * A webview's page: nothing inline but the one script tag, which carries a fresh nonce. The CSP
 * lets in only that script and the extension's own files (no CDN, no eval, no inline style).
 */
export function webviewPage(
  webview: vscode.Webview,
  page: { title: string; script: vscode.Uri; style: vscode.Uri; body: string },
): string {
  const nonce = randomBytes(18).toString('base64');
  const csp = [
    `default-src 'none'`,
    `img-src ${webview.cspSource}`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${page.style.toString()}">
<title>${page.title}</title>
</head>
<body>
${page.body}
<script nonce="${nonce}" src="${page.script.toString()}"></script>
</body>
</html>`;
}
