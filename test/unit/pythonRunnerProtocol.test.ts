// The runner protocol has one definition, src/core/protocol.ts (and the runner's lifecycle,
// src/core/runner/runnerState.ts); the Python runner, written in another language, is held to
// them here: the messages it reads and sends, and the state changes it allows.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { PARENT_TYPES, RUNNER_TYPES } from '../../src/core/protocol';
import { checkTransition, type RunnerStateName } from '../../src/core/runner/runnerState';

const source = fs.readFileSync(
  path.resolve(__dirname, '..', '..', 'src', 'runner-python', 'taskman_runner.py'),
  'utf8',
);

describe('the Python runner keeps the runner protocol', () => {
  it('reads exactly the messages a parent sends', () => {
    const tuple = /^PARENT_TYPES = \(([^)]*)\)$/m.exec(source);
    assert.ok(tuple, 'taskman_runner.py declares PARENT_TYPES');
    const read = [...tuple[1].matchAll(/"([a-z-]+)"/g)].map((m) => m[1]);
    assert.deepEqual(read.sort(), [...PARENT_TYPES].sort());
  });

  it('sends only the messages a runner may send, and every one of them', () => {
    const sent = new Set([
      ...[...source.matchAll(/"type": "([a-z-]+)"/g)].map((m) => m[1]),
      ...[...source.matchAll(/dict\(type="([a-z-]+)"/g)].map((m) => m[1]),
    ]);
    assert.deepEqual([...sent].sort(), [...RUNNER_TYPES].sort());
  });

  it('allows the state changes of runnerState.ts, and no other', () => {
    const table = /^NEXT_STATES = \{([^}]*)\}$/m.exec(source);
    assert.ok(table, 'taskman_runner.py declares NEXT_STATES');
    const next = new Map(
      [...table[1].matchAll(/"(\w+)": \(([^)]*)\)/g)].map((m) => [
        m[1],
        [...m[2].matchAll(/"(\w+)"/g)].map((n) => n[1]),
      ]),
    );
    const states: RunnerStateName[] = ['idle', 'running', 'listing', 'finishing', 'exiting'];
    assert.deepEqual([...next.keys()].sort(), [...states].sort());
    for (const from of states)
      for (const to of states) {
        const allowedInNode = (() => {
          try {
            checkTransition(from, to);
            return true;
          } catch {
            return false;
          }
        })();
        assert.equal(next.get(from)!.includes(to), allowedInNode, `${from} → ${to}`);
      }
  });
});
