// schemas/taskman.config.schema.json (what VS Code checks taskman.config.json against) and the
// parser (what Taskman runs) must give the same verdict: each config below goes through both,
// the schema through Ajv. A refusal must name the same field in both.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import Ajv, { type ErrorObject } from 'ajv';
import { CONFIG_FIELDS, ConfigError, loadApplicationConfig } from '../../src/core';

const repoRoot = path.resolve(__dirname, '..', '..');
const schemaFile = path.join(repoRoot, 'schemas', 'taskman.config.schema.json');

interface PropertySchema {
  description?: string;
  markdownDescription?: string;
  default?: unknown;
  examples?: unknown[];
}
const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as {
  required: string[];
  properties: Record<string, PropertySchema>;
};

const ajv = new Ajv({ allErrors: true, strict: true });
// VS Code's own keywords (hovers, completions, messages); strict mode still catches any other.
ajv.addVocabulary([
  'markdownDescription',
  'patternErrorMessage',
  'enumDescriptions',
  'markdownEnumDescriptions',
  'defaultSnippets',
]);
const validate = ajv.compile(schema);

/** An application folder: the tasks modules the configs name, and a package.json giving a version. */
function appFolder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-config-schema-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
let app: string;
/** No package.json and not in git: nothing gives a version. */
let bare: string;
before(() => {
  const tasks = {
    'tasks.js': 'exports.a = async () => 1;',
    'tasks.mjs': 'export const a = async () => 1;',
    'dist/tasks.js': 'exports.a = async () => 1;',
  };
  app = appFolder({ ...tasks, 'package.json': '{"version":"2.0.0"}' });
  bare = appFolder(tasks);
});

type ParserVerdict =
  | { valid: true; config: ReturnType<typeof loadApplicationConfig> }
  | { valid: false; field: string | undefined; message: string };

function parserVerdict(config: unknown, dir = app): ParserVerdict {
  fs.writeFileSync(path.join(dir, 'taskman.config.json'), JSON.stringify(config));
  try {
    return { valid: true, config: loadApplicationConfig(dir) };
  } catch (error) {
    assert.ok(error instanceof ConfigError, `the parser threw ${error}, not a ConfigError`);
    return { valid: false, field: error.field, message: error.message };
  }
}

/** The fields the schema's errors are about, named as ConfigError names them (`env.X`, `execArgv[0]`). */
function schemaVerdict(config: unknown): { valid: boolean; fields: (string | undefined)[] } {
  const valid = validate(config) as boolean;
  return { valid, fields: [...new Set((validate.errors ?? []).map((error) => fieldOf(error, config)))] };
}

function fieldOf(error: ErrorObject, config: unknown): string | undefined {
  if (error.keyword === 'required') return error.params.missingProperty as string;
  if (error.keyword === 'additionalProperties' && error.instancePath === '')
    return error.params.additionalProperty as string;
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  // A property name's own error (propertyNames) is about the name, one level below its object.
  const propertyName = error.keyword === 'propertyNames' ? (error.params.propertyName as string) : error.propertyName;
  if (propertyName !== undefined) segments.push(propertyName);
  // An unknown field of a nested object (a task option) is named by its own path.
  if (error.keyword === 'additionalProperties') segments.push(error.params.additionalProperty as string);
  let field: string | undefined;
  let value: unknown = config;
  for (const segment of segments) {
    field = field === undefined ? segment : Array.isArray(value) ? `${field}[${segment}]` : `${field}.${segment}`;
    value = (value as Record<string, unknown> | undefined)?.[segment];
  }
  return field;
}

const base = { name: 'billing', tasks: './tasks.js' };
const long = (n: number) => 'a'.repeat(n);

const accepted: [string, unknown][] = [
  ['the two required fields (the version from package.json)', base],
  [
    'every field',
    {
      $schema: './taskman.config.schema.json',
      name: 'billing',
      version: '1.4.2',
      tasks: './dist/tasks.js',
      env: { BILLING_MODE: 'sandbox', _X1: '' },
      modulePaths: ['./lib', '../shared'],
      node: 'node',
      execArgv: ['--max-old-space-size=512'],
      concurrency: 2,
      runner: 'pooled',
      runnerMaxTasks: 500,
    },
  ],
  ['a one-character name', { ...base, name: '0' }],
  ['a name of dots, underscores and dashes', { ...base, name: 'a.b_c-D' }],
  ['a name of 128 characters', { ...base, name: long(128) }],
  ['a one-character version', { ...base, version: '1' }],
  ['a version of 128 characters', { ...base, version: long(128) }],
  ['a version of 128 characters outside the BMP', { ...base, version: '😀'.repeat(128) }],
  ['a non-ASCII version', { ...base, version: 'version-é' }],
  ['a version with a lone surrogate', { ...base, version: '1\ud800' }],
  ['a tasks module without ./', { ...base, tasks: 'tasks.js' }],
  ['an ES module', { ...base, tasks: './tasks.mjs' }],
  ['an empty env', { ...base, env: {} }],
  ['an env value that is empty', { ...base, env: { A: '' } }],
  ['empty modulePaths and execArgv', { ...base, modulePaths: [], execArgv: [] }],
  ['a node given as a path', { ...base, node: './bin/node' }],
  ['concurrency 1', { ...base, concurrency: 1 }],
  ['concurrency 1000', { ...base, concurrency: 1000 }],
  ['the process runner', { ...base, runner: 'process' }],
  ['runnerMaxTasks 1', { ...base, runnerMaxTasks: 1 }],
  ['runnerMaxTasks 1000000', { ...base, runnerMaxTasks: 1_000_000 }],
  ['runnerMaxTasks without the pooled runner', { ...base, runner: 'process', runnerMaxTasks: 10 }],
  ['$schema of any type (Taskman ignores it)', { ...base, $schema: 5 }],
  [
    'task options for every task and for one, with every option',
    {
      ...base,
      taskOptions: {
        '*': { retries: 1, retryDelay: 500 },
        importCustomers: { retries: 3, retryDelay: '10s', retryMaxDelay: '10m', idempotent: true, timeout: '1h' },
        $task_2: {},
      },
    },
  ],
  ['retries 0 and 100', { ...base, taskOptions: { a: { retries: 0 }, b: { retries: 100 } } }],
  ['a delay of composite units', { ...base, taskOptions: { a: { retryDelay: '1h30m', retryMaxDelay: ' 2d ' } } }],
];

const wrongTypes: [string, unknown][] = [
  ['a number', 5],
  ['null', null],
  ['a boolean', true],
  ['an array', []],
  ['an object', {}],
];
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

/** [what, config, the field the parser names, its message] */
const refused: [string, unknown, string | undefined, RegExp][] = [
  ...(
    [
      ['an array', []],
      ['null', null],
      ['a string', 'billing'],
      ['a number', 1],
      ['true', true],
    ] as [string, unknown][]
  ).map(([what, config]): [string, unknown, string | undefined, RegExp] => [
    `a document that is ${what}`,
    config,
    undefined,
    /must be a JSON object/,
  ]),
  ['an unknown field', { ...base, concurrencyy: 2 }, 'concurrencyy', /is not a known field/],
  ['a field in the wrong case', { ...base, Name: 'x' }, 'Name', /is not a known field/],
  [
    'a field named __proto__',
    JSON.parse('{"name":"billing","tasks":"./tasks.js","__proto__":{"x":1}}'),
    '__proto__',
    /is not a known field/,
  ],
  ['no name', without('name'), 'name', /is required/],
  ...wrongTypes
    .filter(([what]) => what !== 'an object')
    .concat([['an object', { a: 1 }]])
    .map(([what, value]): [string, unknown, string, RegExp] => [
      `a name that is ${what}`,
      { ...base, name: value },
      'name',
      /must be a string/,
    ]),
  ...['', '-a', '.a', '_a', 'a b', 'a/b', 'é', long(129)].map((name): [string, unknown, string, RegExp] => [
    `the name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}… (${name.length})` : name)}`,
    { ...base, name },
    'name',
    /must be 1-128 letters/,
  ]),
  ['no tasks', without('tasks'), 'tasks', /is required/],
  ...[...wrongTypes, ['an empty string', '']].map(([what, value]): [string, unknown, string, RegExp] => [
    `tasks that is ${what}`,
    { ...base, tasks: value },
    'tasks',
    /must be a non-empty path string/,
  ]),
  ...[
    ['an array', []],
    ['null', null],
    ['a string', 'A=1'],
    ['a number', 1],
  ].map(([what, value]): [string, unknown, string, RegExp] => [
    `env that is ${what}`,
    { ...base, env: value },
    'env',
    /must be an object of strings/,
  ]),
  ...[
    ['a number', 1],
    ['null', null],
    ['a boolean', false],
    ['an object', {}],
    ['an array', ['x']],
  ].map(([what, value]): [string, unknown, string, RegExp] => [
    `an env value that is ${what}`,
    { ...base, env: { X: value } },
    'env.X',
    /must be a string/,
  ]),
  ...['1X', 'A-B', 'A B', '', 'É', 'A.B'].map((key): [string, unknown, string, RegExp] => [
    `the env name ${JSON.stringify(key)}`,
    { ...base, env: { OK: 'y', [key]: 'x' } },
    `env.${key}`,
    /is not a valid environment variable name/,
  ]),
  [
    'an env name and value both wrong (the value is reported)',
    { ...base, env: { '1X': 1 } },
    'env.1X',
    /must be a string/,
  ],
  ...(['modulePaths', 'execArgv'] as const).flatMap((field): [string, unknown, string, RegExp][] => [
    [`${field} that is a string`, { ...base, [field]: './x' }, field, /must be an array of strings/],
    [`${field} that is an object`, { ...base, [field]: {} }, field, /must be an array of strings/],
    [`${field} that is null`, { ...base, [field]: null }, field, /must be an array of strings/],
    [`a ${field} item that is a number`, { ...base, [field]: ['./x', 5] }, `${field}[1]`, /must be a string/],
    [`a ${field} item that is null`, { ...base, [field]: [null] }, `${field}[0]`, /must be a string/],
    [`a ${field} item that is an array`, { ...base, [field]: [['x']] }, `${field}[0]`, /must be a string/],
  ]),
  ...[...wrongTypes, ['an empty string', '']].map(([what, value]): [string, unknown, string, RegExp] => [
    `node that is ${what}`,
    { ...base, node: value },
    'node',
    /must be a non-empty string/,
  ]),
  ...[0, -1, 1001, 1.5, 0.5, '2', null, true, [2]].map((value): [string, unknown, string, RegExp] => [
    `concurrency ${JSON.stringify(value)}`,
    { ...base, concurrency: value },
    'concurrency',
    /must be an integer from 1 to 1000, got/,
  ]),
  ...['threads', 'Process', '', null, 1, ['pooled']].map((value): [string, unknown, string, RegExp] => [
    `the runner ${JSON.stringify(value)}`,
    { ...base, runner: value },
    'runner',
    /must be "process" or "pooled", got/,
  ]),
  ...[0, -5, 1_000_001, 2.5, '10', null, false].map((value): [string, unknown, string, RegExp] => [
    `runnerMaxTasks ${JSON.stringify(value)}`,
    { ...base, runnerMaxTasks: value },
    'runnerMaxTasks',
    /must be an integer from 1 to 1000000, got/,
  ]),
  ...[...wrongTypes.filter(([what]) => what !== 'an object'), ['a string', '{}']].map(
    ([what, value]): [string, unknown, string, RegExp] => [
      `taskOptions that is ${what}`,
      { ...base, taskOptions: value },
      'taskOptions',
      /must be an object of task names/,
    ],
  ),
  ...['1bad', 'a-b', 'a.b', '', '**'].map((task): [string, unknown, string, RegExp] => [
    `task options for ${JSON.stringify(task)}`,
    { ...base, taskOptions: { [task]: {} } },
    `taskOptions.${task}`,
    /is not a task name/,
  ]),
  ...wrongTypes
    .filter(([what]) => what !== 'an object')
    .map(([what, value]): [string, unknown, string, RegExp] => [
      `a task's options that are ${what}`,
      { ...base, taskOptions: { a: value } },
      'taskOptions.a',
      /must be an object of retries, retryDelay/,
    ]),
  [
    'an unknown task option',
    { ...base, taskOptions: { a: { retry: 3 } } },
    'taskOptions.a.retry',
    /is not a task option/,
  ],
  ...[-1, 101, 1.5, '3', null, true].map((value): [string, unknown, string, RegExp] => [
    `retries ${JSON.stringify(value)}`,
    { ...base, taskOptions: { '*': { retries: value } } },
    'taskOptions.*.retries',
    /must be an integer from 0 to 100, got/,
  ]),
  ...(['retryDelay', 'retryMaxDelay', 'timeout'] as const).flatMap((field) =>
    ['soon', '10 s', '-5s', -1, null, true, ['1s']].map((value): [string, unknown, string, RegExp] => [
      `the ${field} ${JSON.stringify(value)}`,
      { ...base, taskOptions: { a: { [field]: value } } },
      `taskOptions.a.${field}`,
      /must be a duration such as "10s" or "5m"/,
    ]),
  ),
  ...['yes', 1, null].map((value): [string, unknown, string, RegExp] => [
    `idempotent ${JSON.stringify(value)}`,
    { ...base, taskOptions: { a: { idempotent: value } } },
    'taskOptions.a.idempotent',
    /must be true or false/,
  ]),
  ...['', '1 2', ' 1', '1\t', '1\n', '1\u00a0', long(129), '😀'.repeat(129), 5, null, ['1']].map(
    (value): [string, unknown, string, RegExp] => [
      `the version ${typeof value === 'string' && value.length > 20 ? `of ${[...value].length} ${value === long(129) ? 'ASCII characters' : 'characters outside the BMP'}` : JSON.stringify(value)}`,
      { ...base, version: value },
      'version',
      /must be a string of 1-128 characters without spaces/,
    ],
  ),
];

describe('the config schema agrees with the parser', () => {
  it('lists exactly the fields the parser knows, each described, and requires what the parser requires', () => {
    assert.deepEqual(Object.keys(schema.properties).sort(), [...CONFIG_FIELDS].sort());
    for (const [field, property] of Object.entries(schema.properties)) {
      assert.ok((property.description?.length ?? 0) > 20, `${field} has a description`);
      assert.ok((property.markdownDescription?.length ?? 0) > 20, `${field} has a markdownDescription`);
    }
    assert.deepEqual(schema.required, ['name', 'tasks']);
  });

  it('has the defaults the parser applies', () => {
    const defaulted = parserVerdict(base);
    assert.ok(defaulted.valid);
    for (const [field, property] of Object.entries(schema.properties)) {
      if (property.default === undefined) continue;
      const explicit = parserVerdict({ ...base, [field]: property.default });
      assert.ok(explicit.valid, `the default of ${field} is accepted`);
      assert.deepEqual(
        explicit.config,
        defaulted.config,
        `${field}: ${JSON.stringify(property.default)} is what the parser uses without it`,
      );
    }
  });

  it('offers only examples that both accept', () => {
    for (const [field, property] of Object.entries(schema.properties)) {
      for (const example of property.examples ?? []) {
        const config = { ...base, [field]: example };
        assert.equal(parserVerdict(config).valid, true, `${field}: ${JSON.stringify(example)}`);
        assert.equal(schemaVerdict(config).valid, true, `${field}: ${JSON.stringify(example)}`);
      }
    }
  });

  for (const [what, config] of accepted) {
    it(`both accept ${what}`, () => {
      const parser = parserVerdict(config);
      assert.equal(parser.valid, true, parser.valid ? '' : parser.message);
      assert.deepEqual(schemaVerdict(config), { valid: true, fields: [] });
    });
  }

  for (const [what, config, field, message] of refused) {
    it(`both refuse ${what}, naming ${field ?? 'the document'}`, () => {
      const parser = parserVerdict(config);
      assert.equal(parser.valid, false, 'the parser accepted it');
      assert.equal(parser.field, field);
      assert.match(parser.message, message);
      const checked = schemaVerdict(config);
      assert.equal(checked.valid, false, 'the schema accepted it');
      assert.deepEqual(checked.fields, [field], JSON.stringify(validate.errors));
    });
  }

  // What only the file system tells: the schema accepts these, the parser (and the extension's
  // diagnostic on the file) refuses them. Never the other way round.
  it('leaves to the parser a tasks module that does not exist', () => {
    const parser = parserVerdict({ ...base, tasks: './missing.js' });
    assert.ok(!parser.valid && parser.field === 'tasks' && /which does not exist/.test(parser.message));
    assert.equal(schemaVerdict({ ...base, tasks: './missing.js' }).valid, true);
  });

  it('leaves to the parser a missing version that neither package.json nor git gives', () => {
    const parser = parserVerdict(base, bare);
    assert.ok(
      !parser.valid && parser.field === 'version' && /neither package\.json nor git gives one/.test(parser.message),
    );
    assert.equal(schemaVerdict(base).valid, true);
  });
});
