import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  InvalidInputError,
  keyTemplates,
  limitFor,
  parseConcurrencyLimits,
  renderKeyTemplate,
  validConcurrencyKey,
} from '../../src/core';

const fail = (field: string, message: string): never => {
  throw new ConfigError('taskman.config.json', field, message);
};

describe('concurrency keys', () => {
  it('a template takes scalar fields of the payload, nested ones by path', () => {
    assert.equal(renderKeyTemplate('customer:{customerId}', { customerId: 42 }), 'customer:42');
    assert.equal(renderKeyTemplate('{order.region}/{order.id}', { order: { region: 'eu', id: 'A-1' } }), 'eu/A-1');
    assert.equal(renderKeyTemplate('flag:{on}', { on: false }), 'flag:false');
    assert.equal(renderKeyTemplate('one-at-a-time', { any: 1 }), 'one-at-a-time');
  });

  it('a missing or non-scalar field stays as written: such tasks share one key', () => {
    assert.equal(renderKeyTemplate('customer:{customerId}', {}), 'customer:{customerId}');
    assert.equal(renderKeyTemplate('customer:{customerId}', { customerId: { id: 1 } }), 'customer:{customerId}');
    assert.equal(renderKeyTemplate('customer:{customerId}', null), 'customer:{customerId}');
    assert.equal(renderKeyTemplate('x:{toString}', {}), 'x:{toString}', 'no inherited property');
    assert.equal(renderKeyTemplate('x:{a.b}', { a: 'text' }), 'x:{a.b}');
  });

  it('a key too long for the column is cut and ends in a hash of the whole, so long keys stay apart', () => {
    const a = renderKeyTemplate('k:{v}', { v: 'x'.repeat(300) });
    const b = renderKeyTemplate('k:{v}', { v: `${'x'.repeat(299)}y` });
    assert.equal(a.length, 191);
    assert.equal(b.length, 191);
    assert.notEqual(a, b);
    assert.match(renderKeyTemplate('k:{v}', { v: 'a\nb' }), /^k:a b#[0-9a-f]{32}$/);
  });

  it('limits: an exact key first, then the pattern with the most text, then "*", else 1', () => {
    const limits = parseConcurrencyLimits(
      { '*': 5, 'customer:*': 2, 'customer:vip-*': 4, 'customer:42': 1, '*:eu': 3 },
      'concurrencyLimits',
      fail,
    );
    assert.equal(limitFor('customer:42', limits), 1);
    assert.equal(limitFor('customer:vip-9', limits), 4);
    assert.equal(limitFor('customer:7', limits), 2);
    assert.equal(limitFor('report:eu', limits), 3);
    assert.equal(limitFor('anything', limits), 5);
    assert.equal(limitFor('anything', []), 1);
    assert.equal(limitFor('a.b', parseConcurrencyLimits({ 'a.*': 2 }, 'l', fail)), 2);
    assert.equal(limitFor('aXb', parseConcurrencyLimits({ 'a.b': 2 }, 'l', fail)), 1, 'no regex meaning');
  });

  it('refuses a bad key at submit, naming the field', () => {
    assert.equal(validConcurrencyKey('customer:42'), 'customer:42');
    for (const bad of ['', 'a'.repeat(192), 'a\tb', 'a\u0000', 5, null, ['k']])
      assert.throws(() => validConcurrencyKey(bad), InvalidInputError);
    assert.throws(() => validConcurrencyKey(''), /concurrencyKey must be a string of 1-191 characters/);
  });

  it('keyTemplates lists the templates of taskOptions by task name', () => {
    const templates = keyTemplates({
      '*': { retries: 1 },
      importCustomers: { concurrencyKey: 'customer:{customerId}' },
    });
    assert.deepEqual([...templates], [['importCustomers', 'customer:{customerId}']]);
    for (const name of ['__proto__', 'constructor', 'toString']) assert.equal(templates.get(name), undefined);
  });
});
