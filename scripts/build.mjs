// Bundles the engine, the runner (its own entry: it runs in a separate process; the Python runner is copied), the CLI, the
// VS Code extension (vscode stays external: the extension host provides it) and the dashboard's
// webview script (for the browser: Chart.js inside, loaded from the extension, never a CDN).
import * as fs from 'node:fs';
import * as esbuild from 'esbuild';
import { sideEffectFree } from './sideEffectFree.mjs';
import { webviewBuild } from './webviewBuild.mjs';

const production = process.argv.includes('--production');
const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  define: { TASKMAN_VERSION: JSON.stringify(version) },
  plugins: [sideEffectFree(['prom-client'])],
};

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: { core: 'src/core/index.ts', runner: 'src/core/runner/main.ts' },
    outdir: 'dist',
  }),
  esbuild.build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  }),
  esbuild.build({
    ...common,
    entryPoints: { extension: 'src/extension/extension.ts' },
    outdir: 'dist',
    external: ['vscode'],
  }),
  esbuild.build(webviewBuild({ minify: production, sourcemap: production ? false : 'linked', outdir: 'dist/webview' })),
  // The demo's TypeScript task, with a source map so that the debugger stops on its .ts lines.
  esbuild.build({
    entryPoints: ['examples/demo/src/images.ts'],
    outdir: 'examples/demo/dist',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    logLevel: 'warning',
  }),
]);
fs.chmodSync('dist/cli.js', 0o755);
// The Python runner is one standard-library file: shipped as it is, beside the Node runner.
fs.copyFileSync('src/runner-python/taskman_runner.py', 'dist/runner.py');
