// An esbuild plugin declaring packages free of side effects on import, so that a bundle which
// imports them but never uses them leaves them out. prom-client is one: the engine's public surface
// exports SchedulerMetrics (the CLI's `worker --metrics-port`), which the extension never uses.
import { createRequire } from 'node:module';
import * as path from 'node:path';

export function sideEffectFree(packages) {
  const names = new Set(packages);
  return {
    name: 'side-effect-free',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) =>
        names.has(args.path)
          ? { path: createRequire(path.join(args.resolveDir, 'index.js')).resolve(args.path), sideEffects: false }
          : undefined,
      );
    },
  };
}
