import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, InvalidInputError, parseDuration, parseTimeSpec } from '../../src/core';

describe('durations', () => {
  it('parses units, combinations and bare milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('250'), 250);
    assert.equal(parseDuration(42), 42);
  });

  for (const bad of ['', 'soon', '5 minutes', '-5s', '5x', '1h 30m', 'm5', '5s5']) {
    it(`rejects ${JSON.stringify(bad)} with a message showing the forms`, () => {
      assert.throws(
        () => parseDuration(bad, 'timeout'),
        (error: Error) =>
          error instanceof InvalidInputError && /timeout .* is not a duration\. Use forms like/.test(error.message),
      );
    });
  }

  it('rejects negative and non-finite numbers', () => {
    assert.throws(() => parseDuration(-1), InvalidInputError);
    assert.throws(() => parseDuration(Number.NaN), InvalidInputError);
  });

  it('formats for people', () => {
    assert.equal(formatDuration(450), '450ms');
    assert.equal(formatDuration(72_000), '1m12s');
    assert.equal(formatDuration(90_061_000), '1d1h1m1s');
    assert.equal(formatDuration(3_600_000), '1h');
  });

  it('reads a time spec as a relative delay or an absolute ISO time', () => {
    assert.deepEqual(parseTimeSpec('10m', 'start-before'), { afterMs: 600_000 });
    assert.deepEqual(parseTimeSpec('2030-01-02T03:04:05Z', 'start-before'), { at: new Date('2030-01-02T03:04:05Z') });
    assert.throws(() => parseTimeSpec('2030-13-45T99:00:00Z', 'start-before'), /not a valid ISO 8601 time/);
    assert.throws(() => parseTimeSpec('tomorrow', 'run-after'), /run-after "tomorrow" is neither a duration/);
  });
});
