import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputTail } from '../../src/core/scheduler/outputTail';

describe('OutputTail', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(100);
    tail.push('hello ');
    tail.push(Buffer.from('world'));
    assert.equal(tail.text(), 'hello world');
  });

  it('keeps only the last bytes of a large stream and says how much it dropped', () => {
    const tail = new OutputTail(64 * 1024);
    for (let i = 0; i < 5000; i++) tail.push(`line ${i} ${'x'.repeat(1000)}\n`);
    const text = tail.text();
    assert.match(text, /^\[… \d+ earlier bytes of output dropped\]\n/);
    assert.ok(text.endsWith(`line 4999 ${'x'.repeat(1000)}\n`));
    const body = text.slice(text.indexOf('\n') + 1);
    assert.equal(Buffer.byteLength(body), 64 * 1024);
    assert.equal(
      tail.totalBytes,
      [...Array(5000).keys()].reduce((sum, i) => sum + `line ${i} `.length + 1001, 0),
    );
  });

  it('never starts in the middle of a UTF-8 character', () => {
    const tail = new OutputTail(10);
    tail.push('☃☃☃☃☃☃☃☃');
    const text = tail.text();
    assert.ok(!text.includes('\uFFFD'), text);
    assert.ok(text.endsWith('☃☃☃'));
  });
});
