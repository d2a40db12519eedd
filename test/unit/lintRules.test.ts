// The house rules that only src/extension imports `vscode`, and that the CLI and the extension
// import the engine only through src/core/index.ts, are kept by the linter (biome.json), so
// `npm test` fails on a break of them before anything is built. The project's own lint settings run
// over a scratch tree whose files import vscode from different places.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

const repoRoot = path.resolve(__dirname, '..', '..');
const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');

const files: Record<string, string> = {
  'src/core/scheduler/usesVscode.ts': "import * as vscode from 'vscode';\nexport const window = vscode.window;\n",
  'src/core/usesVscodeTypes.ts': "import type { Uri } from 'vscode';\nexport type Target = Uri;\n",
  'src/cli/usesVscode.ts': "import * as vscode from 'vscode';\nexport const window = vscode.window;\n",
  'src/webview/usesVscode.ts': "import * as vscode from 'vscode';\nexport const window = vscode.window;\n",
  'src/extension/usesVscode.ts': "import * as vscode from 'vscode';\nexport const window = vscode.window;\n",
  'test/vscode/suite/usesVscode.test.ts': "import * as vscode from 'vscode';\nexport const window = vscode.window;\n",
  'src/cli/commands/usesCoreInternals.ts':
    "import { countUnfinished } from '../../core/database/taskQueries';\nexport const count = countUnfinished;\n",
  'src/extension/usesCoreInternalTypes.ts':
    "import type { TaskState } from '../core/task';\nexport type State = TaskState;\n",
  'src/cli/usesCore.ts': "import { Taskman } from '../core';\nexport const client = Taskman;\n",
  'src/extension/views/usesCore.ts': "import { Taskman } from '../../core';\nexport const client = Taskman;\n",
  'src/core/scheduler/usesCoreInternals.ts':
    "import { countUnfinished } from '../database/taskQueries';\nexport const count = countUnfinished;\n",
  'test/integration/usesCoreInternals.test.ts':
    "import { countUnfinished } from '../../src/core/database/taskQueries';\nexport const count = countUnfinished;\n",
};

/** The project's lint settings over the scratch tree, run once: what Biome said, and the files it refused. */
let linted: { output: string; refused: Set<string> } | undefined;
function lintScratchTree(): { output: string; refused: Set<string> } {
  if (linted) return linted;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-lint-'));
  const config = JSON.parse(fs.readFileSync(path.join(repoRoot, 'biome.json'), 'utf8'));
  delete config.$schema;
  config.vcs = { enabled: false };
  fs.writeFileSync(path.join(root, 'biome.json'), JSON.stringify(config));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  const run = spawnSync(biome, ['lint', '--max-diagnostics=100', '.'], { cwd: root, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  const refused = new Set([...output.matchAll(/^(\S+):\d+:\d+ lint\/style\/noRestrictedImports/gm)].map((m) => m[1]));
  fs.rmSync(root, { recursive: true, force: true });
  linted = { output, refused };
  return linted;
}

describe('lint: only src/extension imports vscode', () => {
  let output = '';
  let refused = new Set<string>();

  before(() => {
    ({ output, refused } = lintScratchTree());
  });

  for (const file of ['src/core/scheduler/usesVscode.ts', 'src/cli/usesVscode.ts', 'src/webview/usesVscode.ts']) {
    it(`refuses an import of vscode in ${path.dirname(file)}`, () => {
      assert.ok(refused.has(file), output);
      assert.match(output, /Only src\/extension imports vscode/);
    });
  }

  it('refuses a type-only import of vscode outside src/extension', () => {
    assert.ok(refused.has('src/core/usesVscodeTypes.ts'), output);
  });

  it('allows it in src/extension and in the suites that run inside VS Code', () => {
    assert.ok(!refused.has('src/extension/usesVscode.ts'), output);
    assert.ok(!refused.has('test/vscode/suite/usesVscode.test.ts'), output);
  });
});

describe('lint: the CLI and the extension import the engine only through src/core/index.ts', () => {
  let output = '';
  let refused = new Set<string>();

  before(() => {
    ({ output, refused } = lintScratchTree());
  });

  for (const file of ['src/cli/commands/usesCoreInternals.ts', 'src/extension/usesCoreInternalTypes.ts']) {
    it(`refuses an import of a module inside src/core in ${path.dirname(file)}, a type-only one too`, () => {
      assert.ok(refused.has(file), output);
      assert.match(output, /its one public surface, src\/core\/index\.ts/);
    });
  }

  it("allows the index itself, and core's own modules and the tests importing what they need", () => {
    for (const file of [
      'src/cli/usesCore.ts',
      'src/extension/views/usesCore.ts',
      'src/core/scheduler/usesCoreInternals.ts',
      'test/integration/usesCoreInternals.test.ts',
    ])
      assert.ok(!refused.has(file), `${file}: ${output}`);
  });
});
