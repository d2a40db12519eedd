// The scheduler's poll loop, driven by a scripted target: which mode follows each outcome of a
// poll or a wait, and that a poll is woken or paced as the modes say.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollLoop, type PollMode, type PollTarget } from '../../src/core/scheduler/pollLoop';

type Step = { poll: number | Error } | { wait: boolean | Error };

/** Plays `script` (what each poll claims or throws, what each wait returns), then stops the loop. */
function scripted(script: Step[], options: { wakeDuringPoll?: number[]; wakeDuringWait?: number[] } = {}) {
  const stop = new AbortController();
  const seen: string[] = [];
  let loop: PollLoop;
  let polls = 0;
  let waits = 0;
  const next = <K extends 'poll' | 'wait'>(kind: K) => {
    const step = script.shift();
    if (!step) {
      stop.abort();
      return undefined;
    }
    assert.ok(kind in step, `expected a ${kind}, the script has ${JSON.stringify(step)}`);
    return (step as Record<K, unknown>)[kind];
  };
  const target: PollTarget = {
    polling: () => !stop.signal.aborted,
    async poll(woken) {
      seen.push(`${loop.mode}:poll(${woken ? 'woken' : 'paced'})`);
      polls++;
      if (options.wakeDuringPoll?.includes(polls)) loop.wake();
      const result = next('poll');
      if (result instanceof Error) throw result;
      return (result as number | undefined) ?? 0;
    },
    async waitForWork() {
      seen.push(`${loop.mode}:wait`);
      waits++;
      if (options.wakeDuringWait?.includes(waits)) loop.wake();
      const result = next('wait');
      if (result instanceof Error) throw result;
      return (result as boolean | undefined) ?? false;
    },
    async onError(error, where) {
      seen.push(`error in ${where}: ${(error as Error).message}`);
    },
  };
  loop = new PollLoop(target, { intervalMs: 1, stopSignal: stop.signal });
  return { loop, seen, done: loop.run() };
}

describe('the poll loop', () => {
  it('claims first, waits, then claims when the database reports work and probes when the pace ran out', async () => {
    const { loop, seen, done } = scripted([{ poll: 0 }, { wait: true }, { poll: 2 }, { wait: false }, { poll: 0 }]);
    await done;
    assert.deepEqual(seen, [
      'claiming:poll(woken)',
      'waiting:wait',
      'claiming:poll(woken)',
      'waiting:wait',
      'probing:poll(paced)',
      'waiting:wait',
    ]);
    assert.equal(loop.mode, 'stopped' satisfies PollMode);
  });

  it('a wake-up during a poll makes the next poll follow at once, without a wait', async () => {
    const { seen, done } = scripted([{ poll: 1 }, { poll: 0 }], { wakeDuringPoll: [1] });
    await done;
    assert.deepEqual(seen.slice(0, 2), ['claiming:poll(woken)', 'claiming:poll(woken)']);
  });

  it('a wake-up during a wait makes the next poll a woken one, though the database said nothing', async () => {
    const { seen, done } = scripted([{ poll: 0 }, { wait: false }, { poll: 0 }], { wakeDuringWait: [1] });
    await done;
    assert.deepEqual(seen.slice(0, 3), ['claiming:poll(woken)', 'waiting:wait', 'claiming:poll(woken)']);
  });

  it('a failed poll backs off, then probes', async () => {
    const { seen, done } = scripted([{ poll: new Error('database away') }, { poll: 0 }]);
    await done;
    assert.deepEqual(seen.slice(0, 3), ['claiming:poll(woken)', 'error in poll: database away', 'probing:poll(paced)']);
  });

  it('a failed wait is reported and followed by a paced poll', async () => {
    const { seen, done } = scripted([{ poll: 0 }, { wait: new Error('wait refused') }, { poll: 0 }]);
    await done;
    assert.deepEqual(seen.slice(0, 4), [
      'claiming:poll(woken)',
      'waiting:wait',
      'error in waiting for tasks: wait refused',
      'probing:poll(paced)',
    ]);
  });
});
