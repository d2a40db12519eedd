// The failure vocabulary (src/core/failures.ts) is the one list of the names Taskman writes in a
// task's error; docs/reliability.md's "Failures" table is the user's copy of it and must match it
// name for name and state for state.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { FAILURE_NAMES, FAILURES, failure } from '../../src/core';

const page = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'reliability.md'), 'utf8');

function documentedFailures(): Map<string, string> {
  const section = page.split(/^## Failures$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'docs/reliability.md has a "## Failures" section');
  const rows = [...section.matchAll(/^\| `([A-Za-z]+)` \| ([a-z]+) \|/gm)];
  return new Map(rows.map((row) => [row[1], row[2]]));
}

describe('the failure vocabulary', () => {
  it('docs/reliability.md lists every failure name with its state, and no other', () => {
    const documented = documentedFailures();
    assert.deepEqual([...documented.keys()].sort(), [...FAILURE_NAMES].sort());
    for (const name of FAILURE_NAMES) assert.equal(documented.get(name), FAILURES[name].state, name);
  });

  it('builds one message per name, with what it is given', () => {
    assert.deepEqual(failure('ResultTooLarge', 5000, 4096), {
      name: 'ResultTooLarge',
      message:
        'The result is 5000 bytes of JSON; the limit is 4096. Store large output elsewhere and return a reference.',
    });
    assert.equal(failure('TaskAborted', 'changed my mind').message, 'Aborted before it started: changed my mind.');
    assert.equal(
      failure('TaskAborted', 'timeout after 1s', { name: 'AbortError', message: 'timeout after 1s' }).message,
      'Aborted: timeout after 1s. The runner then ended: AbortError: timeout after 1s',
    );
    assert.match(
      failure('TaskLost', 'scheduler 7 (h pid 1) stopped heartbeating for over 30s').message,
      /never re-runs/,
    );
    assert.equal(failure('RunnerExited', 0).name, 'RunnerExited');
  });
});
