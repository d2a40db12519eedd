import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from './errors';
import { parseTaskOptionsTable, type TaskOptions } from './retries';
import { type ConcurrencyLimits, parseConcurrencyLimits } from './concurrency';
import { parseSchedules, type Schedule, type ScheduleProblem } from './schedules';

export const CONFIG_FILE_NAME = 'taskman.config.json';

/** An application as a scheduler runs it: every path absolute, every default applied. */
export interface ApplicationConfig {
  /** Folder holding taskman.config.json; the runner's working directory. */
  root: string;
  configFile: string;
  name: string;
  version: string;
  /** Where the version came from, for display. */
  versionSource: 'config' | 'package.json' | 'pyproject.toml' | 'git';
  /** What the tasks are written in: it names the runner and the interpreter. */
  runtime: Runtime;
  /**
   * The tasks module: an absolute path, or (Python) a module name such as `billing.tasks`,
   * imported from `modulePaths` and the root.
   */
  tasks: string;
  env: Record<string, string>;
  /** Absolute folders; the runner's NODE_PATH, or PYTHONPATH for Python. */
  modulePaths: string[];
  /** The Node binary that runs the tasks (runtime `node`). */
  node: string;
  /** The Python interpreter that runs the tasks (runtime `python`); a virtualenv's works. */
  python: string;
  /** The interpreter's own flags, before the runner's script. */
  execArgv: string[];
  /** How many of this application's tasks one scheduler runs at once. */
  concurrency: number;
  /**
   * `process`: a new runner process per task (full isolation, at the cost of a process start per
   * task: docs/benchmarks.md).
   * `pooled`: runner processes are reused for many tasks of this application version.
   */
  runner: RunnerMode;
  /** In `pooled` mode, a runner is replaced after this many tasks (bounds leaks in task code). */
  runnerMaxTasks: number;
  /** Retries, idempotence and timeout per task name, `"*"` for every task (retries.ts). */
  taskOptions: Record<string, TaskOptions>;
  /** The most tasks with one concurrency key that run at once, by key or pattern (concurrency.ts). */
  concurrencyLimits: ConcurrencyLimits;
  /** Recurring tasks (schedules.ts); the invalid ones are left out and reported in `scheduleProblems`. */
  schedules: Schedule[];
  /** Schedules the config names that cannot run, each with its field and why; the rest runs. */
  scheduleProblems: ScheduleProblem[];
}

export type Runtime = 'node' | 'python';
const RUNTIMES: readonly Runtime[] = ['node', 'python'];

export type RunnerMode = 'process' | 'pooled';
const RUNNER_MODES: readonly RunnerMode[] = ['process', 'pooled'];

// Unicode mode, as JSON schema validators (VS Code's too) run schemas/taskman.config.schema.json's
// patterns: a version's 128 are characters (code points), as in its VARCHAR(128) column.
const APPLICATION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u;
const VERSION = /^[^\s]{1,128}$/u;
// smol-toml ships CommonJS (its "require" export) with ES module typings only: typed by hand.
const { parse: parseToml } = require('smol-toml') as typeof import('smol-toml', { with: {
  'resolution-mode': 'import',
}});
const PYTHON_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/u;
/** Every field a config may have; the schema lists the same (test/unit/configSchema.test.ts). */
export const CONFIG_FIELDS = [
  '$schema',
  'name',
  'version',
  'tasks',
  'runtime',
  'env',
  'modulePaths',
  'node',
  'python',
  'execArgv',
  'concurrency',
  'runner',
  'runnerMaxTasks',
  'taskOptions',
  'concurrencyLimits',
  'schedules',
] as const;
const KNOWN_FIELDS = new Set<string>(CONFIG_FIELDS);

/** The interpreter that runs the application's tasks, and the config field that names it. */
export function interpreterOf(app: Pick<ApplicationConfig, 'runtime' | 'node' | 'python'>): {
  field: Runtime;
  command: string;
} {
  return app.runtime === 'python' ? { field: 'python', command: app.python } : { field: 'node', command: app.node };
}

export function isValidApplicationName(name: string): boolean {
  return APPLICATION_NAME.test(name);
}

/** Reads and validates `taskman.config.json` in `root`. Throws ConfigError naming the field. */
export function loadApplicationConfig(root: string): ApplicationConfig {
  const absoluteRoot = path.resolve(root);
  const file = path.join(absoluteRoot, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const why = fs.existsSync(absoluteRoot) ? `has no ${CONFIG_FILE_NAME}` : 'does not exist';
      throw new ConfigError(
        file,
        undefined,
        `not found: ${absoluteRoot} ${why}. Create one (see README "The application config").`,
        { cause },
      );
    }
    throw new ConfigError(file, undefined, `cannot be read: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(file, undefined, `is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseApplicationConfig(json, file);
}

/** Validates an already parsed config object; `file` locates the root and the error messages. */
export function parseApplicationConfig(json: unknown, file: string): ApplicationConfig {
  const root = path.dirname(file);
  const fail = (field: string | undefined, message: string): never => {
    throw new ConfigError(file, field, message);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(undefined, 'must be a JSON object');
  const config = json as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(key))
      fail(key, `is not a known field (known: ${[...KNOWN_FIELDS].filter((k) => k !== '$schema').join(', ')})`);
  }

  const name = config.name;
  if (name === undefined) fail('name', 'is required');
  if (typeof name !== 'string') fail('name', `must be a string, got ${typeName(name)}`);
  if (!APPLICATION_NAME.test(name as string))
    fail('name', 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');

  let runtime: Runtime = 'node';
  if (config.runtime !== undefined) {
    if (!RUNTIMES.includes(config.runtime as Runtime))
      fail('runtime', `must be "node" or "python", got ${JSON.stringify(config.runtime)}`);
    runtime = config.runtime as Runtime;
  }
  const tasks = tasksModule(config.tasks, runtime, root, fail);

  const env: Record<string, string> = {};
  if (config.env !== undefined) {
    if (typeof config.env !== 'object' || config.env === null || Array.isArray(config.env))
      fail('env', 'must be an object of strings');
    for (const [key, value] of Object.entries(config.env as object)) {
      if (typeof value !== 'string') fail(`env.${key}`, `must be a string, got ${typeName(value)}`);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/u.test(key)) fail(`env.${key}`, 'is not a valid environment variable name');
      env[key] = value;
    }
  }

  const modulePaths = stringArray(config.modulePaths, 'modulePaths', fail).map((p) => path.resolve(root, p));
  const execArgv = stringArray(config.execArgv, 'execArgv', fail);

  const other: Runtime = runtime === 'node' ? 'python' : 'node';
  if (config[other] !== undefined)
    fail(
      other,
      `is for ${other === 'node' ? 'Node' : 'Python'} applications; this one's runtime is "${runtime}": name its interpreter in "${runtime}"`,
    );
  const node = interpreter(config.node, 'node', root, fail);
  const python = interpreter(config.python, 'python3', root, fail);

  let concurrency = 1;
  if (config.concurrency !== undefined) {
    const c = config.concurrency;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > 1000)
      fail('concurrency', `must be an integer from 1 to 1000, got ${JSON.stringify(c)}`);
    concurrency = c as number;
  }

  let runner: RunnerMode = 'process';
  if (config.runner !== undefined) {
    if (!RUNNER_MODES.includes(config.runner as RunnerMode))
      fail('runner', `must be "process" or "pooled", got ${JSON.stringify(config.runner)}`);
    runner = config.runner as RunnerMode;
  }
  // Replaced every 1000 tasks, a runner's start is spread thin enough that short tasks do not pay
  // for it (docs/design.md, "The runner protocol").
  let runnerMaxTasks = 1000;
  if (config.runnerMaxTasks !== undefined) {
    const n = config.runnerMaxTasks;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1_000_000)
      fail('runnerMaxTasks', `must be an integer from 1 to 1000000, got ${JSON.stringify(n)}`);
    runnerMaxTasks = n as number;
  }

  const taskOptions =
    config.taskOptions === undefined ? {} : parseTaskOptionsTable(config.taskOptions, 'taskOptions', fail);

  const concurrencyLimits =
    config.concurrencyLimits === undefined
      ? []
      : parseConcurrencyLimits(config.concurrencyLimits, 'concurrencyLimits', fail);

  const parsedSchedules =
    config.schedules === undefined ? { schedules: [], problems: [] } : parseSchedules(config.schedules);
  if (!parsedSchedules) fail('schedules', 'must be an array of schedules ({ "name", "cron", "task", … })');

  let version: string;
  let versionSource: ApplicationConfig['versionSource'];
  if (config.version !== undefined) {
    if (typeof config.version !== 'string' || !VERSION.test(config.version))
      fail('version', 'must be a string of 1-128 characters without spaces');
    version = config.version as string;
    versionSource = 'config';
  } else {
    const found = defaultVersion(root, runtime);
    if (!found)
      fail(
        'version',
        `is missing and neither ${runtime === 'python' ? 'pyproject.toml' : 'package.json'} nor git gives one: set "version"`,
      );
    ({ version, versionSource } = found!);
  }

  return {
    root,
    configFile: file,
    name: name as string,
    version,
    versionSource,
    runtime,
    tasks,
    env,
    modulePaths,
    node,
    python,
    execArgv,
    concurrency,
    runner,
    runnerMaxTasks,
    taskOptions,
    concurrencyLimits,
    schedules: parsedSchedules!.schedules,
    scheduleProblems: parsedSchedules!.problems,
  };
}

function stringArray(value: unknown, field: string, fail: (field: string, message: string) => never): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(field, `must be an array of strings, got ${typeName(value)}`);
  (value as unknown[]).forEach((item, i) => {
    if (typeof item !== 'string') fail(`${field}[${i}]`, `must be a string, got ${typeName(item)}`);
  });
  return value as string[];
}

/**
 * The tasks module: a path (relative to the root) that must exist, or for Python a module name
 * (`billing.tasks`) that the runner imports; a name with a `/` or ending in `.py` is a path.
 */
function tasksModule(
  value: unknown,
  runtime: Runtime,
  root: string,
  fail: (field: string, message: string) => never,
): string {
  if (value === undefined) fail('tasks', 'is required (the module whose exported functions are the tasks)');
  if (typeof value !== 'string' || value.length === 0)
    fail(
      'tasks',
      `must be a non-empty ${runtime === 'python' ? 'module name or path' : 'path'} string, got ${typeName(value)}`,
    );
  const given = value as string;
  const isPath = runtime === 'node' || /[/\\]/.test(given) || given.endsWith('.py');
  if (!isPath) {
    if (!PYTHON_MODULE.test(given))
      fail(
        'tasks',
        `must be a Python module name such as billing.tasks, or a file such as ./tasks.py; got ${JSON.stringify(given)}`,
      );
    return given;
  }
  const file = path.resolve(root, given);
  if (!fs.existsSync(file)) fail('tasks', `points to ${file}, which does not exist (build the application first?)`);
  // Node loads a folder's index.js; Python takes a file or a module name.
  if (runtime === 'python' && fs.statSync(file).isDirectory())
    fail('tasks', `points to the folder ${file}: name a .py file, or the module by its name (billing.tasks)`);
  return file;
}

/** A command looked up on PATH, or a path (one with a `/`) relative to the root. */
function interpreter(
  value: unknown,
  fallback: string,
  root: string,
  fail: (field: string, message: string) => never,
): string {
  const field = fallback === 'node' ? 'node' : 'python';
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0)
    fail(field, `must be a non-empty string, got ${typeName(value)}`);
  const command = value as string;
  return command.includes('/') || command.includes('\\') ? path.resolve(root, command) : command;
}

function defaultVersion(
  root: string,
  runtime: Runtime,
): { version: string; versionSource: 'package.json' | 'pyproject.toml' | 'git' } | undefined {
  const found = runtime === 'python' ? pyprojectVersion(root) : packageJsonVersion(root);
  if (found && VERSION.test(found))
    return { version: found, versionSource: runtime === 'python' ? 'pyproject.toml' : 'package.json' };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    })
      .toString()
      .trim();
    if (commit) return { version: commit, versionSource: 'git' };
  } catch {
    // Not a git checkout, or git is not installed.
  }
  return undefined;
}

function packageJsonVersion(root: string): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined; // No package.json, or not JSON: git may give one.
  }
}

/** `[project] version` (PEP 621), else Poetry's `[tool.poetry] version`; a dynamic one is not known here. */
function pyprojectVersion(root: string): string | undefined {
  try {
    const toml = parseToml(fs.readFileSync(path.join(root, 'pyproject.toml'), 'utf8')) as {
      project?: { version?: unknown };
      tool?: { poetry?: { version?: unknown } };
    };
    const version = toml.project?.version ?? toml.tool?.poetry?.version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined; // No pyproject.toml, or not TOML: git may give one.
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
