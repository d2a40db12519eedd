// The webviews' scripts and styles: browser bundles, loaded from the extension (no CDN), one per page.
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

export function webviewBuild({ minify, sourcemap, outdir, legalComments = 'none' }) {
  return {
    entryPoints: {
      taskPage: path.join(root, 'src/webview/taskPage.ts'),
      dashboard: path.join(root, 'src/webview/dashboard.ts'),
    },
    outdir,
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    minify,
    sourcemap,
    legalComments,
    logLevel: 'warning',
  };
}
