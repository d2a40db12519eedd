import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attemptText,
  effectiveTaskOptions,
  hasAttemptsLeft,
  InvalidInputError,
  retryDelayMs,
  retryingText,
  startStamp,
  type Task,
  validateSubmission,
} from '../../src/core';

const policy = { retryDelayMs: 10_000, retryMaxDelayMs: 600_000 };

describe('retry backoff', () => {
  it('doubles from retryDelay per attempt, without jitter at its top', () => {
    const noJitter = () => 0;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt, noJitter)),
      [10_000, 20_000, 40_000, 80_000, 160_000, 320_000],
    );
  });

  it('is capped at retryMaxDelay, however many attempts', () => {
    assert.equal(
      retryDelayMs(policy, 7, () => 0),
      600_000,
    );
    assert.equal(
      retryDelayMs(policy, 100, () => 0),
      600_000,
      'no overflow past the cap',
    );
  });

  it('is jittered down by at most a quarter, never up', () => {
    assert.equal(
      retryDelayMs(policy, 3, () => 1),
      30_000,
    );
    assert.equal(
      retryDelayMs(policy, 3, () => 0.5),
      35_000,
    );
    for (let i = 0; i < 1000; i++) {
      const delay = retryDelayMs(policy, 3);
      assert.ok(delay > 30_000 && delay <= 40_000, `${delay}`);
    }
  });

  it('counts attempts: retries 3 leaves attempts after the 1st, 2nd and 3rd, none after the 4th', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((attempt) => hasAttemptsLeft({ retries: 3 }, attempt)),
      [true, true, true, false],
    );
    assert.equal(hasAttemptsLeft({ retries: 0 }, 1), false);
  });
});

describe('effective task options', () => {
  const table = {
    '*': { retries: 1, retryDelayMs: 5000 },
    importCustomers: { retries: 3, idempotent: true, timeoutMs: 3_600_000 },
  };

  it('take the submission first, then the task, then "*", then the defaults (no retries)', () => {
    assert.deepEqual(effectiveTaskOptions({}, {}, 'any'), {
      retries: 0,
      retryDelayMs: 10_000,
      retryMaxDelayMs: 600_000,
      idempotent: false,
      timeoutMs: null,
    });
    assert.deepEqual(effectiveTaskOptions({}, table, 'importCustomers'), {
      retries: 3,
      retryDelayMs: 5000,
      retryMaxDelayMs: 600_000,
      idempotent: true,
      timeoutMs: 3_600_000,
    });
    assert.equal(effectiveTaskOptions({}, table, 'other').retries, 1);
    const submitted = effectiveTaskOptions({ retries: 0, idempotent: false }, table, 'importCustomers');
    assert.equal(submitted.retries, 0);
    assert.equal(submitted.idempotent, false);
  });

  it('raise a retryMaxDelay below retryDelay to it', () => {
    assert.equal(
      effectiveTaskOptions({ retryDelayMs: 60_000, retryMaxDelayMs: 1000 }, {}, 'a').retryMaxDelayMs,
      60_000,
    );
  });

  it('are stamped at the start only when the config has task options', () => {
    const task = { task: 'importCustomers', retries: null, retryDelayMs: null } as unknown as Task;
    assert.equal(startStamp(task, {}), undefined);
    assert.equal(startStamp(task, table)?.retries, 3);
  });
});

describe('retry options of a submission', () => {
  const base = { application: 'billing', task: 'importCustomers' };
  const refused: [string, object, RegExp][] = [
    ['negative retries', { retries: -1 }, /retries must be an integer from 0 to 100, got -1/],
    ['too many retries', { retries: 101 }, /retries must be an integer from 0 to 100/],
    ['fractional retries', { retries: 1.5 }, /retries must be an integer/],
    ['retries as text', { retries: '3' }, /retries must be an integer/],
    ['a retry delay that is not a duration', { retryDelay: 'soon' }, /retryDelay must be a duration/],
    ['a retry delay over a week', { retryDelay: '8d' }, /retryDelay must be at most 7d/],
    ['a negative max delay', { retryMaxDelay: -5 }, /retryMaxDelay must be a duration/],
    ['idempotent as text', { idempotent: 'yes' }, /idempotent must be true or false/],
  ];
  for (const [what, fields, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => validateSubmission({ ...base, ...fields } as never),
        (error) => error instanceof InvalidInputError && message.test(error.message),
      );
    });
  }

  it('keeps what is not given unset, for the config to decide', () => {
    const valid = validateSubmission({ ...base, retries: 2, retryDelay: '30s', idempotent: true });
    assert.deepEqual(
      [valid.retries, valid.retryDelayMs, valid.retryMaxDelayMs, valid.idempotent],
      [2, 30_000, null, true],
    );
    const none = validateSubmission(base);
    assert.deepEqual(
      [none.retries, none.retryDelayMs, none.retryMaxDelayMs, none.idempotent],
      [null, null, null, null],
    );
  });
});

describe('what a task waiting for its next attempt says', () => {
  const now = new Date('2026-12-02T10:00:00Z');
  const waiting = (fields: Partial<Task>) =>
    ({ state: 'pending', attempt: 1, retries: 3, runAfter: new Date('2026-12-02T10:00:40Z'), ...fields }) as Task;

  it('says when and which attempt of how many', () => {
    assert.equal(retryingText(waiting({}), now), 'retrying in 40s · attempt 2 of 4');
    assert.equal(
      retryingText(waiting({ runAfter: new Date('2026-12-02T10:00:00.200Z') }), now),
      'retrying in 1s · attempt 2 of 4',
    );
    assert.equal(retryingText(waiting({ runAfter: now }), now), 'retrying now · attempt 2 of 4');
  });

  it('says nothing for a task that never ran or is running', () => {
    assert.equal(retryingText(waiting({ attempt: 0 }), now), undefined);
    assert.equal(retryingText(waiting({ state: 'running' }), now), undefined);
  });

  it('counts without a total while the retries are not known', () => {
    assert.equal(attemptText(2, null), 'attempt 2');
    assert.equal(attemptText(1, 0), 'attempt 1 of 1');
  });
});
