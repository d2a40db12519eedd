// Bundles the engine, the runner (its own entry: it runs in a separate process) and the CLI.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

await esbuild.build({
  entryPoints: {
    core: 'src/core/index.ts',
    runner: 'src/core/runner/main.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
});
