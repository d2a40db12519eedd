import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrayClaims } from '../../src/core/scheduler/strayClaims';

describe('when a scheduler reconciles its running rows (StrayClaims)', () => {
  it('never while nothing is suspect', () => {
    const strays = new StrayClaims(1000, 8000);
    assert.equal(strays.due(0), false);
    assert.equal(strays.due(1e9), false);
  });

  it('at once after a suspect write, then at most once per interval until the settle time has passed', () => {
    const strays = new StrayClaims(1000, 8000);
    strays.suspect(100);
    assert.equal(strays.due(100), true);
    strays.checked(100);
    assert.equal(strays.due(600), false, 'not again within the interval');
    assert.equal(strays.due(1100), true);
    strays.checked(1100);
    // A late COMMIT lands within the settle time: checks go on until one began after it.
    strays.checked(8200);
    assert.equal(strays.due(100_000), false, 'done once a check began after the settle time');
  });

  it('a failed check is tried again at the next poll', () => {
    const strays = new StrayClaims(1000, 8000);
    strays.suspect(0);
    strays.checked(0);
    strays.failed();
    assert.equal(strays.due(10), true);
  });

  it('a new suspect write extends the watch', () => {
    const strays = new StrayClaims(1000, 8000);
    strays.suspect(0);
    strays.suspect(5000);
    strays.checked(9000);
    assert.equal(strays.due(10_500), true, 'the second write is watched until 13 s');
    strays.checked(13_500);
    assert.equal(strays.due(20_000), false);
  });
});
