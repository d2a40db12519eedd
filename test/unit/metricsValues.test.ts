import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Task } from '../../src/core';
import { CachedValue } from '../../src/core/metrics/cachedValue';
import { percentile } from '../../src/core/metrics/taskStatistics';
import { waitBeforeStart } from '../../src/core/scheduler/runTimes';
import { Scrape } from '../helpers/prometheus';

/** A reading the test settles by hand, and a clock it moves by hand. */
function controlled() {
  let now = 0;
  const readings: { resolve(value: number): void; reject(error: Error): void }[] = [];
  const cached = new CachedValue<number>(
    () => new Promise((resolve, reject) => readings.push({ resolve, reject })),
    5000,
    () => now,
  );
  return { cached, readings, advance: (ms: number) => (now += ms) };
}

describe('the queue depth cache: at most one reading per interval', () => {
  it('concurrent callers share one reading, and later callers within the interval get it too', async () => {
    const { cached, readings, advance } = controlled();
    const first = Array.from({ length: 10 }, () => cached.get());
    assert.equal(readings.length, 1);
    readings[0].resolve(7);
    assert.deepEqual(await Promise.all(first), Array(10).fill(7));
    advance(4999);
    assert.equal(await cached.get(), 7);
    assert.equal(readings.length, 1);
    advance(1);
    const second = cached.get();
    assert.equal(readings.length, 2);
    readings[1].resolve(8);
    assert.equal(await second, 8);
  });

  it('a reading slower than the interval is never overlapped by the next', async () => {
    const { cached, readings, advance } = controlled();
    const slow = cached.get();
    advance(20_000);
    assert.equal(cached.get(), slow);
    assert.equal(readings.length, 1);
    readings[0].resolve(1);
    await slow;
    void cached.get();
    assert.equal(readings.length, 2, 'the next reading starts once the slow one is done and older than the interval');
  });

  it('a failed reading is kept for the interval: a database away is not asked at every scrape', async () => {
    const { cached, readings, advance } = controlled();
    const failed = cached.get();
    readings[0].reject(new Error('database unavailable'));
    await assert.rejects(failed, /database unavailable/);
    advance(1000);
    await assert.rejects(cached.get(), /database unavailable/);
    assert.equal(readings.length, 1);
    advance(4000);
    void cached.get();
    assert.equal(readings.length, 2);
  });
});

describe('the times metrics report', () => {
  it('nearest-rank percentiles', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.equal(percentile(values, 50), 10);
    assert.equal(percentile(values, 95), 19);
    assert.equal(percentile([4], 95), 4);
  });

  it('wait: the database clock until the claim, then this host clock until the start', () => {
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
    const task = { createdAt: at(0), runAfter: at(0), claimedAt: at(250) } as Task;
    assert.equal(waitBeforeStart(task, 1000, 1040), 290);
    const delayed = { createdAt: at(0), runAfter: at(200), claimedAt: at(250) } as Task;
    assert.equal(waitBeforeStart(delayed, 1000, 1000), 50, 'from run_after when it is later than created_at');
  });
});

describe("the tests' Prometheus text parser, on prom-client's output", () => {
  it('reads escaped labels, NaN, and each labelled series of a histogram apart', async () => {
    const registry = new Registry();
    const registers = [registry];
    new Counter({ name: 'c_total', help: 'with a \\ and\na newline', labelNames: ['x'], registers }).inc(
      { x: 'say "hi"\\n\n' },
      2,
    );
    new Gauge({ name: 'g', help: 'g', registers }).set(NaN);
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['task'],
      buckets: [0.1, 1],
      registers,
    });
    histogram.observe({ task: 'a' }, 0.5);
    histogram.observe({ task: 'b' }, 0.05);
    histogram.observe({ task: 'b' }, 5);
    const scrape = new Scrape(await registry.metrics(), registry.contentType);
    assert.equal(scrape.family('c_total', 'counter').help, 'with a \\ and\na newline');
    assert.equal(scrape.value('c_total', 'counter', { x: 'say "hi"\\n\n' }), 2);
    assert.ok(Number.isNaN(scrape.value('g', 'gauge')));
    assert.deepEqual(scrape.histogram('h_seconds', { task: 'a' }), {
      count: 1,
      sum: 0.5,
      buckets: new Map([
        [0.1, 0],
        [1, 1],
        [Infinity, 1],
      ]),
    });
    assert.deepEqual(scrape.histogram('h_seconds', { task: 'b' }), {
      count: 2,
      sum: 5.05,
      buckets: new Map([
        [0.1, 1],
        [1, 1],
        [Infinity, 2],
      ]),
    });
    assert.throws(() => new Scrape('g{x="unclosed} 1\n', ''), /a closed label value/);
  });
});
