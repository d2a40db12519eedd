// The configs the schema test (configSchema.test.ts) puts through both the JSON schema and the
// parser: the ones both must accept, and the ones both must refuse naming the same field.

export const base = { name: 'billing', tasks: './tasks.js' };
/** A Python application: its version from pyproject.toml. */
export const pythonBase = { name: 'billing', runtime: 'python', tasks: './tasks.py' };
const schedule = { name: 'nightly-report', cron: '0 2 * * *', task: 'a' };
const long = (n: number) => 'a'.repeat(n);

export const accepted: [string, unknown][] = [
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
  ['a Python application, its tasks a file', pythonBase],
  ['a Python application, its tasks a module name', { ...pythonBase, tasks: 'billing.tasks' }],
  ['a Python application, its tasks a one-word module', { ...pythonBase, tasks: 'tasks' }],
  [
    'a Python application with every field of its own',
    {
      ...pythonBase,
      version: '3.1',
      python: './.venv/bin/python',
      modulePaths: ['./src'],
      execArgv: ['-X', 'dev'],
      runner: 'pooled',
    },
  ],
  ['runtime node, said', { ...base, runtime: 'node', node: 'node' }],
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
  ['no schedules', { ...base, schedules: [] }],
  [
    'concurrency limits by key and pattern, and a key template',
    {
      ...base,
      concurrencyLimits: { 'customer:*': 1, '*': 4, report: 2, 'ünï cödé:*': 100_000 },
      taskOptions: {
        a: { concurrencyKey: 'customer:{customerId}' },
        b: { concurrencyKey: '{order.region}/{order.id}' },
      },
    },
  ],
  ['a key template without placeholders', { ...base, taskOptions: { '*': { concurrencyKey: 'one-at-a-time' } } }],
  [
    'schedules with every field, six cron fields and a nickname',
    {
      ...base,
      schedules: [
        { ...schedule, timezone: 'Europe/Amsterdam', payload: { sections: 6 }, missed: 'skip' },
        { name: 'often', cron: '*/30 * * * * *', task: 'a' },
        { name: 'hourly:check', cron: '@hourly', task: 'a', payload: null },
      ],
    },
  ],
];

const wrongTypes: [string, unknown][] = [
  ['a number', 5],
  ['null', null],
  ['a boolean', true],
  ['an array', []],
  ['an object', {}],
];
/** `field` given as each wrong type but `right` (and as `extra`), refused with `message`. */
const wrongTypesOf = (
  field: string,
  right: string,
  message: RegExp,
  extra: [string, unknown][] = [],
): [string, unknown, string, RegExp][] =>
  [...wrongTypes.filter(([what]) => what !== right), ...extra].map(([what, value]) => [
    `${field} that is ${what}`,
    { ...base, [field]: value },
    field,
    message,
  ]);
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

/**
 * [what, the one schedule, the field both name, the parser's message]: a schedule the schema
 * refuses and the parser leaves out, reporting it in scheduleProblems; the config still loads.
 */
export const scheduleRefused: [string, unknown, string, RegExp][] = [
  ['not an object', 5, 'schedules[0]', /must be an object with name, cron, task/],
  ['without a name', { cron: '@daily', task: 'a' }, 'schedules[0].name', /must be 1-128 letters/],
  ['named with a space', { ...schedule, name: 'nightly report' }, 'schedules[0].name', /must be 1-128 letters/],
  ['with an unknown field', { ...schedule, when: '2am' }, 'schedules[0].when', /is not a schedule field/],
  ['without a task', { name: 'x', cron: '@daily' }, 'schedules[0].task', /must be the name of an exported function/],
  ['naming a task that is no name', { ...schedule, task: 'a.b' }, 'schedules[0].task', /must be the name of/],
  ['without a cron', { name: 'x', task: 'a' }, 'schedules[0].cron', /must be a cron pattern string/],
  ['with a cron that is a number', { ...schedule, cron: 5 }, 'schedules[0].cron', /must be a cron pattern string/],
  ['with a time zone that is a number', { ...schedule, timezone: 1 }, 'schedules[0].timezone', /IANA time zone/],
  ['with missed "sometimes"', { ...schedule, missed: 'sometimes' }, 'schedules[0].missed', /must be "once" or "skip"/],
];

/** [what, config, the field the parser names, its message] */
export const refused: [string, unknown, string | undefined, RegExp][] = [
  ...wrongTypesOf('concurrencyLimits', 'an object', /must be an object of keys or patterns/),
  ...[0, 1.5, '2', 100_001, null, true].map((value): [string, unknown, string, RegExp] => [
    `a concurrency limit of ${JSON.stringify(value)}`,
    { ...base, concurrencyLimits: { 'customer:*': value } },
    'concurrencyLimits.customer:*',
    /must be an integer from 1 to 100000/,
  ]),
  [
    'an empty concurrency key pattern',
    { ...base, concurrencyLimits: { '': 1 } },
    'concurrencyLimits.',
    /is not a key or pattern/,
  ],
  [
    'a concurrency key pattern with a control character',
    { ...base, concurrencyLimits: { 'a\tb': 1 } },
    'concurrencyLimits.a\tb',
    /is not a key or pattern/,
  ],
  ...(['', 5, null, 'customer:{', 'customer:{id', '{}', '{1x}', 'a}b', long(192), 'a\nb'] as unknown[]).map(
    (value): [string, unknown, string, RegExp] => [
      `the key template ${JSON.stringify(value).slice(0, 30)}`,
      { ...base, taskOptions: { a: { concurrencyKey: value } } },
      'taskOptions.a.concurrencyKey',
      /must be a string of 1-191 characters|has a brace that is not a placeholder/,
    ],
  ),
  ...wrongTypesOf('schedules', 'an array', /must be an array of schedules/),
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
  ...[...wrongTypes, ['an empty string', '']].map(([what, value]): [string, unknown, string, RegExp] => [
    `python that is ${what}`,
    { ...pythonBase, python: value },
    'python',
    /must be a non-empty string/,
  ]),
  ...['ruby', 'Python', '', null, 1, ['python']].map((value): [string, unknown, string, RegExp] => [
    `the runtime ${JSON.stringify(value)}`,
    { ...base, runtime: value },
    'runtime',
    /must be "node" or "python", got/,
  ]),
  ['python on a Node application', { ...base, python: 'python3' }, 'python', /is for Python applications/],
  ['node on a Python application', { ...pythonBase, node: 'node' }, 'node', /is for Node applications/],
  ...['billing..tasks', 'billing-tasks', '1tasks', 'billing.', 'bill ing'].map(
    (tasks): [string, unknown, string, RegExp] => [
      `the Python module name ${JSON.stringify(tasks)}`,
      { ...pythonBase, tasks },
      'tasks',
      /must be a Python module name such as billing\.tasks/,
    ],
  ),
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
  ...wrongTypesOf('taskOptions', 'an object', /must be an object of task names/, [['a string', '{}']]),
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
