import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApplicationConfig, InvalidInputError, type Task } from '../../src/core';
import { ClaimedAhead } from '../../src/core/scheduler/claimedAhead';

const app = (name: string) => ({ name, concurrency: 8 }) as ApplicationConfig;
const task = (id: string) => ({ id }) as Task;
const tasks = (count: number, prefix = 't') => Array.from({ length: count }, (_, i) => task(`${prefix}${i}`));

describe('tasks claimed ahead of a free slot', () => {
  it('refuses a horizon that is not a number of milliseconds', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new ClaimedAhead(bad, 500),
        (error: Error) =>
          error instanceof InvalidInputError && /claimAheadMs must be a number of milliseconds/.test(error.message),
      );
    }
  });

  it('claims nothing ahead before a run says how long tasks take, or when turned off', () => {
    assert.equal(new ClaimedAhead(50, 500).wanted('a', 8), 0);
    const off = new ClaimedAhead(0, 500);
    off.recordRun('a', 1);
    assert.equal(off.wanted('a', 8), 0);
  });

  it('holds what the slots are expected to start within the horizon, at most two per slot', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.recordRun('a', 25);
    assert.equal(ahead.wanted('a', 8), 16, '8 slots × 50 ms ÷ 25 ms = 16');
    ahead.recordRun('b', 2);
    assert.equal(ahead.wanted('b', 8), 16, 'capped at two per slot');
    ahead.recordRun('c', 100);
    assert.equal(ahead.wanted('c', 8), 4);
    ahead.recordRun('d', 1000);
    assert.equal(ahead.wanted('d', 8), 0, 'a second per task: nothing is held');
  });

  it('holds for two claims’ time when claims take longer than the horizon (far from the database)', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.recordRun('slow', 1000);
    ahead.recordClaim(4);
    assert.deepEqual(
      [ahead.currentHorizonMs, ahead.wanted('slow', 8), ahead.holdLimitMs],
      [50, 0, 500],
      'near: as configured',
    );
    ahead.recordClaim(204);
    assert.equal(ahead.currentHorizonMs, 2 * (4 + 0.2 * 200), 'the claims’ average, smoothed');
    for (let i = 0; i < 40; i++) ahead.recordClaim(200);
    assert.equal(Math.round(ahead.currentHorizonMs), 400);
    assert.equal(ahead.wanted('slow', 8), 3, '8 slots × 400 ms ÷ 1000 ms');
    assert.equal(Math.round(ahead.holdLimitMs), 4000, 'a held task waits up to ten horizons');
    const off = new ClaimedAhead(0, 500);
    off.recordRun('slow', 1000);
    off.recordClaim(200);
    assert.deepEqual([off.currentHorizonMs, off.wanted('slow', 8)], [0, 0], 'claiming ahead turned off stays off');
  });

  it('refills only once half of what it holds is used, so that claims stay batches', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.recordRun('a', 5);
    ahead.hold(tasks(9), app('a'), 's1', 0);
    assert.equal(ahead.wanted('a', 8), 0);
    ahead.take(() => true);
    assert.equal(ahead.wanted('a', 8), 8);
  });

  it('follows a change of run time', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.recordRun('a', 5);
    for (let i = 0; i < 30; i++) ahead.recordRun('a', 2000);
    assert.equal(ahead.wanted('a', 8), 0);
  });

  it('gives out held tasks in claim order, skipping applications without room', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.hold(tasks(2, 'a'), app('a'), 's1', 0);
    ahead.hold(tasks(1, 'b'), app('b'), 's1', 0);
    assert.equal(ahead.take((a) => a.name === 'b')?.task.id, 'b0');
    assert.equal(ahead.take(() => true)?.task.id, 'a0');
    assert.equal(ahead.remove('a1')?.task.id, 'a1');
    assert.equal(
      ahead.take(() => true),
      undefined,
    );
    assert.equal(ahead.size, 0);
  });

  it('takes back tasks held past the limit and claims nothing ahead for their application until a run ends', () => {
    const ahead = new ClaimedAhead(50, 500);
    ahead.recordRun('a', 5);
    ahead.hold(tasks(2, 'old'), app('a'), 's1', 1000);
    ahead.hold(tasks(1, 'new'), app('a'), 's1', 1400);
    assert.deepEqual(
      ahead.takeOverdue(1499).map((held) => held.task.id),
      [],
    );
    assert.deepEqual(
      ahead.takeOverdue(1500).map((held) => held.task.id),
      ['old0', 'old1'],
    );
    assert.equal(ahead.size, 1);
    assert.equal(ahead.wanted('a', 8), 0);
    ahead.recordRun('a', 5);
    assert.equal(ahead.wanted('a', 8), 15);
  });
});
