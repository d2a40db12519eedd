import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core';
import { validateSubmission } from '../../src/core/database/submitTask';
import { isParentMessage, isRunnerMessage } from '../../src/core/protocol';
import { findTaskFunction, listTaskNames } from '../../src/core/runner/loadTasksModule';
import { serialiseThrown } from '../../src/core/runner/serialiseThrown';

describe('which exports can run', () => {
  const exportsObject = { resize: async () => 1, notAFunction: 42, '../x': async () => 2 } as Record<string, unknown>;

  it('finds an own exported function', () => {
    assert.equal(typeof findTaskFunction(exportsObject, 'resize'), 'function');
  });

  for (const name of [
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'notAFunction',
    '../x',
    'missing',
    '',
  ]) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      assert.equal(findTaskFunction(exportsObject, name), undefined);
    });
  }

  it('lists only exported functions with valid names', () => {
    assert.deepEqual(listTaskNames(exportsObject), ['resize']);
  });
});

describe('submission validation', () => {
  const ok = { application: 'billing', task: 'resize' };
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a path as task name', { task: '../x' }, /Task name "\.\.\/x" is invalid/],
    ['a dotted task name', { task: 'a.b' }, /Task name "a\.b" is invalid/],
    ['an empty task name', { task: '' }, /Task name "" is invalid/],
    ['a 129-character task name', { task: 'a'.repeat(129) }, /Task name .* is invalid/],
    ['an application with a space', { application: 'my app' }, /Application name "my app" is invalid/],
    [
      'a BigInt payload',
      { payload: { n: 1n } },
      /payload is not JSON-serialisable: Do not know how to serialize a BigInt/,
    ],
    ['a function payload', { payload: () => 1 }, /payload is not JSON-serialisable/],
    ['a fractional priority', { priority: 1.5 }, /Priority must be an integer/],
    ['a key that is too long', { key: 'k'.repeat(192) }, /key must be a string of 1 to 191/],
    ['a bad timeout', { timeout: 'forever' }, /timeout "forever" is not a duration/],
    ['a zero timeout', { timeout: '0s' }, /timeout must be longer than 0/],
    ['a bad start-before', { startBefore: 'yesterday' }, /start-before "yesterday" is neither a duration/],
    ['a version with spaces', { version: 'a b' }, /version must be 1-128 characters/],
  ];
  for (const [what, change, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => validateSubmission({ ...ok, ...change } as never),
        (error: Error) => error instanceof InvalidInputError && message.test(error.message),
      );
    });
  }

  it('rejects a cyclic payload', () => {
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    assert.throws(
      () => validateSubmission({ ...ok, payload }),
      /payload is not JSON-serialisable: Converting circular structure/,
    );
  });

  it('keeps invalid UTF-16 in strings as escapes that survive a round trip', () => {
    const valid = validateSubmission({ ...ok, payload: { s: 'a\uD800b' } });
    assert.equal(valid.payload, '{"s":"a\\ud800b"}');
  });
});

describe('serialising what a task threw', () => {
  it("keeps an Error's name, message, stack and code", () => {
    const error = Object.assign(new TypeError('bad'), { code: 'E_BAD' });
    const serialised = serialiseThrown(error);
    assert.equal(serialised.name, 'TypeError');
    assert.equal(serialised.message, 'bad');
    assert.equal(serialised.code, 'E_BAD');
    assert.match(serialised.stack ?? '', /TypeError: bad/);
  });

  it('describes a non-Error value', () => {
    assert.deepEqual(serialiseThrown('boom'), {
      name: 'NonErrorThrown',
      message: "The task threw a value that is not an Error: 'boom'. Throw an Error to get a stack trace.",
    });
    assert.match(serialiseThrown({ a: 1 }).message, /\{ a: 1 \}/);
    assert.match(serialiseThrown(undefined).message, /undefined/);
  });

  it('appends the cause to the stack', () => {
    const serialised = serialiseThrown(new Error('outer', { cause: new Error('inner') }));
    assert.match(serialised.stack ?? '', /Caused by: Error: inner/);
  });
});

describe('runner protocol guards', () => {
  it('accept known messages and ignore foreign ones', () => {
    assert.ok(isParentMessage({ type: 'abort', reason: 'x' }));
    assert.ok(isRunnerMessage({ type: 'progress', percent: 1, message: null }));
    assert.ok(!isRunnerMessage({ type: 'start' }));
    assert.ok(!isParentMessage({ type: 'progress' }));
    assert.ok(!isRunnerMessage(null));
    assert.ok(!isRunnerMessage('succeeded'));
    assert.ok(!isParentMessage({ cmd: 'NODE_HANDLE' }));
  });
});
