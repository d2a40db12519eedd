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
import { accepted, base, pythonBase, refused, scheduleRefused } from './configCases';

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
    'tasks.py': 'def a(payload, ctx):\n    return 1\n',
  };
  app = appFolder({
    ...tasks,
    'package.json': '{"version":"2.0.0"}',
    'pyproject.toml': '[project]\nname = "billing"\nversion = "2.0.0"\n',
  });
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
  // An `if` error only says which branch failed; the branch's own error names the field.
  const errors = (validate.errors ?? []).filter((error) => error.keyword !== 'if');
  return { valid, fields: [...new Set(errors.map((error) => fieldOf(error, config)))] };
}

/** The config a field's default or example is tried in: a Python application's for what only Python takes. */
function baseFor(field: string, value: unknown): Record<string, unknown> {
  const python = field === 'python' || (field === 'tasks' && !/\.m?js$/.test(String(value)));
  return python ? pythonBase : base;
}

function fieldOf(error: ErrorObject, config: unknown): string | undefined {
  if (error.keyword === 'required' && error.instancePath === '') return error.params.missingProperty as string;
  if (error.keyword === 'additionalProperties' && error.instancePath === '')
    return error.params.additionalProperty as string;
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  // A property name's own error (propertyNames) is about the name, one level below its object.
  const propertyName = error.keyword === 'propertyNames' ? (error.params.propertyName as string) : error.propertyName;
  if (propertyName !== undefined) segments.push(propertyName);
  // An unknown or missing field of a nested object (a task option, a schedule) is named by its own path.
  if (error.keyword === 'additionalProperties') segments.push(error.params.additionalProperty as string);
  if (error.keyword === 'required') segments.push(error.params.missingProperty as string);
  let field: string | undefined;
  let value: unknown = config;
  for (const segment of segments) {
    field = field === undefined ? segment : Array.isArray(value) ? `${field}[${segment}]` : `${field}.${segment}`;
    value = (value as Record<string, unknown> | undefined)?.[segment];
  }
  return field;
}

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
    for (const [field, property] of Object.entries(schema.properties)) {
      if (property.default === undefined) continue;
      const defaulted = parserVerdict(baseFor(field, property.default));
      assert.ok(defaulted.valid);
      const explicit = parserVerdict({ ...baseFor(field, property.default), [field]: property.default });
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
        const config = { ...baseFor(field, example), [field]: example };
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

  for (const [what, entry, field, message] of scheduleRefused) {
    it(`both refuse a schedule ${what}, naming ${field}; the parser loads the rest`, () => {
      const config = { ...base, schedules: [entry, { name: 'fine', cron: '@daily', task: 'a' }] };
      const parser = parserVerdict(config);
      assert.ok(parser.valid, parser.valid ? '' : parser.message);
      assert.deepEqual(
        parser.config.schedules.map((s) => s.name),
        ['fine'],
      );
      const problems = parser.config.scheduleProblems;
      assert.equal(problems.length, 1);
      const index = problems[0].schedule.match(/^schedules\[(\d+)\]/)?.[1];
      assert.equal(`schedules[${index}]${problems[0].field ? `.${problems[0].field}` : ''}`, field);
      assert.match(problems[0].message, message);
      const checked = schemaVerdict(config);
      assert.equal(checked.valid, false, 'the schema accepted it');
      assert.deepEqual(checked.fields, [field], JSON.stringify(validate.errors));
    });
  }

  // What only the parser tells: a cron pattern croner refuses, a time zone Intl does not know, a
  // name taken twice. The schema accepts them; the parser leaves the schedule out, naming why.
  for (const [what, entry, field, message] of [
    ['a cron that is no pattern', { name: 'x', cron: '61 * * * *', task: 'a' }, 'cron', /is not a cron pattern/],
    ['a cron of four fields', { name: 'x', cron: '* * * *', task: 'a' }, 'cron', /has 4 field\(s\)/],
    ['an unknown time zone', { name: 'x', cron: '@daily', task: 'a', timezone: 'Mars/Olympus' }, 'timezone', /IANA/],
    ['a name taken twice', { name: 'fine', cron: '@daily', task: 'a' }, 'name', /names must be unique/],
  ] as const) {
    it(`leaves to the parser a schedule with ${what}`, () => {
      const config = { ...base, schedules: [{ name: 'fine', cron: '@daily', task: 'a' }, entry] };
      const parser = parserVerdict(config);
      assert.ok(parser.valid);
      assert.deepEqual(
        parser.config.scheduleProblems.map((p) => p.field),
        [field],
      );
      assert.match(parser.config.scheduleProblems[0].message, message);
      assert.equal(schemaVerdict(config).valid, true);
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
