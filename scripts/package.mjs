// Builds the production .vsix: minified bundles, no node_modules (mysql2 is bundled), staged in
// out/vsix-stage so that dist/ (used by the tests) is left alone. Prints the file and its size.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { sideEffectFree } from './sideEffectFree.mjs';
import { webviewBuild } from './webviewBuild.mjs';

const root = path.resolve(import.meta.dirname, '..');
const stage = path.join(root, 'out', 'vsix-stage');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const vsix = path.resolve(root, process.argv[2] ?? `taskman-${pkg.version}.vsix`);

fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore'])
  fs.copyFileSync(path.join(root, file), path.join(stage, file));
for (const dir of ['media', 'schemas']) fs.cpSync(path.join(root, dir), path.join(stage, dir), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: { TASKMAN_VERSION: JSON.stringify(pkg.version) },
  plugins: [sideEffectFree(['prom-client'])],
};
await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: { extension: path.join(root, 'src/extension/extension.ts') },
    outdir: path.join(stage, 'dist'),
    external: ['vscode'],
  }),
  esbuild.build({
    ...common,
    entryPoints: { runner: path.join(root, 'src/core/runner/main.ts') },
    outdir: path.join(stage, 'dist'),
  }),
  // Chart.js's MIT notice is kept at the end of the dashboard's bundle.
  esbuild.build(
    webviewBuild({ minify: true, sourcemap: false, outdir: path.join(stage, 'dist', 'webview'), legalComments: 'eof' }),
  ),
]);

fs.copyFileSync(path.join(root, 'src/runner-python/taskman_runner.py'), path.join(stage, 'dist', 'runner.py'));

// The dashboard's page loads these from the extension: a .vscodeignore that drops one breaks it.
const listed = execFileSync(path.join(root, 'node_modules', '.bin', 'vsce'), ['ls', '--no-dependencies'], {
  cwd: stage,
  encoding: 'utf8',
}).split('\n');
for (const file of [
  'dist/extension.js',
  'dist/runner.js',
  'dist/runner.py',
  'dist/webview/dashboard.js',
  'media/dashboard.css',
]) {
  if (!listed.includes(file)) throw new Error(`${file} would be left out of the .vsix: check .vscodeignore.`);
}
execFileSync(
  path.join(root, 'node_modules', '.bin', 'vsce'),
  ['package', '--no-dependencies', '--no-rewrite-relative-links', '--allow-missing-repository', '--out', vsix],
  { cwd: stage, stdio: 'inherit' },
);
console.log(`${path.relative(root, vsix)}: ${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB`);
