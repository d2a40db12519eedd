import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadApplicationConfig } from '../../src/core';

function appDir(config: unknown, files: Record<string, string> = { 'tasks.js': 'exports.a = async () => 1;' }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-config-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  if (config !== undefined)
    fs.writeFileSync(
      path.join(dir, 'taskman.config.json'),
      typeof config === 'string' ? config : JSON.stringify(config),
    );
  return dir;
}

describe('application config', () => {
  it('applies defaults and resolves paths against the config folder', () => {
    const dir = appDir({
      name: 'billing',
      version: '1.4.2',
      tasks: './tasks.js',
      modulePaths: ['./lib'],
      env: { MODE: 'sandbox' },
    });
    const config = loadApplicationConfig(dir);
    assert.equal(config.name, 'billing');
    assert.equal(config.version, '1.4.2');
    assert.equal(config.versionSource, 'config');
    assert.equal(config.tasks, path.join(dir, 'tasks.js'));
    assert.deepEqual(config.modulePaths, [path.join(dir, 'lib')]);
    assert.deepEqual(config.env, { MODE: 'sandbox' });
    assert.equal(config.node, 'node');
    assert.deepEqual(config.execArgv, []);
    assert.equal(config.concurrency, 1);
    assert.equal(config.runner, 'process');
    assert.equal(config.runnerMaxTasks, 1000);
    assert.equal(config.root, dir);
  });

  it('reads a pooled runner mode and its task limit', () => {
    const config = loadApplicationConfig(
      appDir({ name: 'a', version: '1', tasks: './tasks.js', runner: 'pooled', runnerMaxTasks: 500 }),
    );
    assert.equal(config.runner, 'pooled');
    assert.equal(config.runnerMaxTasks, 500);
  });

  it('takes the version from package.json, else from the git commit', () => {
    const withPackage = appDir(
      { name: 'a', tasks: './tasks.js' },
      { 'tasks.js': '', 'package.json': '{"version":"3.2.1"}' },
    );
    assert.equal(loadApplicationConfig(withPackage).version, '3.2.1');
    assert.equal(loadApplicationConfig(withPackage).versionSource, 'package.json');
    const withGit = appDir({ name: 'a', tasks: './tasks.js' });
    execFileSync('git', ['init', '-q'], { cwd: withGit });
    execFileSync(
      'git',
      ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x'],
      { cwd: withGit },
    );
    const config = loadApplicationConfig(withGit);
    assert.equal(config.versionSource, 'git');
    assert.match(config.version, /^[0-9a-f]{12}$/);
  });

  it('reads a Python application: its interpreter, its tasks as a file or a module name, PYTHONPATH folders', () => {
    const files = { 'tasks.py': 'def a(payload, ctx):\n    return 1\n' };
    const file = loadApplicationConfig(
      appDir({ name: 'a', version: '1', runtime: 'python', tasks: './tasks.py' }, files),
    );
    assert.equal(file.runtime, 'python');
    assert.equal(file.python, 'python3');
    assert.equal(file.tasks, path.join(file.root, 'tasks.py'));
    const module = loadApplicationConfig(
      appDir(
        {
          name: 'a',
          version: '1',
          runtime: 'python',
          tasks: 'billing.tasks',
          python: './.venv/bin/python',
          modulePaths: ['./src'],
        },
        files,
      ),
    );
    assert.equal(module.tasks, 'billing.tasks', 'a module name is imported by the runner, not resolved as a path');
    assert.equal(module.python, path.join(module.root, '.venv', 'bin', 'python'));
    assert.deepEqual(module.modulePaths, [path.join(module.root, 'src')]);
    assert.equal(loadApplicationConfig(appDir({ name: 'a', version: '1', tasks: './tasks.js' })).runtime, 'node');
  });

  it("takes a Python application's version from pyproject.toml ([project], else Poetry's), not package.json", () => {
    const config = { name: 'a', runtime: 'python', tasks: 'tasks' };
    const project = appDir(config, {
      'pyproject.toml': '[project]\nname = "a"\nversion = "2.5.0"\n',
      'package.json': '{"version":"9.9.9"}',
    });
    assert.equal(loadApplicationConfig(project).version, '2.5.0');
    assert.equal(loadApplicationConfig(project).versionSource, 'pyproject.toml');
    const poetry = appDir(config, { 'pyproject.toml': '[tool.poetry]\nname = "a"\nversion = "0.3.1"\n' });
    assert.equal(loadApplicationConfig(poetry).version, '0.3.1');
    for (const pyproject of ['[project]\ndynamic = ["version"]\n', 'not = toml = at all']) {
      assert.throws(
        () => loadApplicationConfig(appDir(config, { 'pyproject.toml': pyproject })),
        /"version" is missing and neither pyproject\.toml nor git gives one/,
      );
    }
  });

  const bad: [string, unknown, RegExp][] = [
    ['no file', undefined, /not found: .* has no taskman\.config\.json/],
    ['not JSON', '{ name: ', /is not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['missing name', { tasks: './tasks.js', version: '1' }, /"name" is required/],
    ['name of the wrong type', { name: 5, tasks: './tasks.js', version: '1' }, /"name" must be a string, got number 5/],
    ['name with a slash', { name: 'a/b', tasks: './tasks.js', version: '1' }, /"name" must be 1-128 letters/],
    ['missing tasks', { name: 'a', version: '1' }, /"tasks" is required/],
    [
      'a Python tasks path that is a folder',
      { name: 'a', version: '1', runtime: 'python', tasks: './' },
      /"tasks" points to the folder .*: name a \.py file, or the module by its name/,
    ],
    [
      'a Python tasks file not found',
      { name: 'a', version: '1', runtime: 'python', tasks: './missing.py' },
      /"tasks" points to .*missing\.py, which does not exist/,
    ],
    [
      'tasks not found',
      { name: 'a', version: '1', tasks: './missing.js' },
      /"tasks" points to .*missing\.js, which does not exist/,
    ],
    [
      'env not an object',
      { name: 'a', version: '1', tasks: './tasks.js', env: ['x'] },
      /"env" must be an object of strings/,
    ],
    [
      'env value not a string',
      { name: 'a', version: '1', tasks: './tasks.js', env: { X: 1 } },
      /"env\.X" must be a string, got number 1/,
    ],
    [
      'modulePaths not an array',
      { name: 'a', version: '1', tasks: './tasks.js', modulePaths: './lib' },
      /"modulePaths" must be an array of strings/,
    ],
    [
      'execArgv item not a string',
      { name: 'a', version: '1', tasks: './tasks.js', execArgv: [1] },
      /"execArgv\[0\]" must be a string/,
    ],
    [
      'concurrency zero',
      { name: 'a', version: '1', tasks: './tasks.js', concurrency: 0 },
      /"concurrency" must be an integer from 1 to 1000, got 0/,
    ],
    [
      'concurrency a string',
      { name: 'a', version: '1', tasks: './tasks.js', concurrency: '2' },
      /"concurrency" must be an integer/,
    ],
    [
      'version with spaces',
      { name: 'a', version: '1 2', tasks: './tasks.js' },
      /"version" must be a string of 1-128 characters/,
    ],
    [
      'no version anywhere',
      { name: 'a', tasks: './tasks.js' },
      /"version" is missing and neither package\.json nor git gives one/,
    ],
    [
      'an unknown runner mode',
      { name: 'a', version: '1', tasks: './tasks.js', runner: 'threads' },
      /"runner" must be "process" or "pooled", got "threads"/,
    ],
    [
      'runnerMaxTasks zero',
      { name: 'a', version: '1', tasks: './tasks.js', runner: 'pooled', runnerMaxTasks: 0 },
      /"runnerMaxTasks" must be an integer from 1 to 1000000, got 0/,
    ],
    [
      'runnerMaxTasks a fraction',
      { name: 'a', version: '1', tasks: './tasks.js', runnerMaxTasks: 2.5 },
      /"runnerMaxTasks" must be an integer/,
    ],
    [
      'runnerMaxTasks a string',
      { name: 'a', version: '1', tasks: './tasks.js', runnerMaxTasks: '10' },
      /"runnerMaxTasks" must be an integer/,
    ],
    [
      'an unknown field',
      { name: 'a', version: '1', tasks: './tasks.js', concurrencyy: 2 },
      /"concurrencyy" is not a known field/,
    ],
  ];
  for (const [what, config, message] of bad) {
    it(`rejects ${what} with an error naming the field`, () => {
      const dir = appDir(config);
      assert.throws(
        () => loadApplicationConfig(dir),
        (error: Error) => {
          assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
          assert.equal((error as ConfigError).code, 'INVALID_CONFIG');
          assert.match(error.message, message);
          assert.ok(error.message.startsWith(path.join(dir, 'taskman.config.json')), error.message);
          return true;
        },
      );
    });
  }

  it('says when the folder itself does not exist', () => {
    assert.throws(() => loadApplicationConfig('/nonexistent/app/dir'), /\/nonexistent\/app\/dir does not exist/);
  });
});
