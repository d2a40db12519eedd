import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureLocation, stackFrames } from '../../src/extension/taskPage/taskPageModel';

const WORKSPACE = '/home/ann/billing';
const OWN = '/home/ann/.vscode/extensions/taskman/dist';

describe('the frames of a failed task, linked to the workspace', () => {
  it("links a Node stack's workspace frames at their line and column, not a library's, and hides Taskman's", () => {
    const stack = [
      'Error: boom',
      `    at bill (${WORKSPACE}/src/tasks.js:12:7)`,
      `    at run (${WORKSPACE}/node_modules/lib/index.js:3:1)`,
      `    at runTask (${OWN}/runner.js:220:9)`,
    ].join('\n');
    const { frames, hidden } = stackFrames(stack, [WORKSPACE], [OWN]);
    assert.equal(hidden, 1);
    assert.deepEqual(
      frames.map((frame) => frame.location),
      [null, { file: `${WORKSPACE}/src/tasks.js`, line: 12, column: 7 }, null],
    );
  });

  it("links a Python traceback's workspace frames at their line, not an installed package's, and hides Taskman's runner", () => {
    const stack = [
      'Traceback (most recent call last):',
      `  File "${OWN}/runner.py", line 301, in run_task`,
      '    value = fn(payload, ctx)',
      `  File "${WORKSPACE}/billing/tasks.py", line 14, in bill`,
      '    _charge(amount)',
      '  File "/usr/lib/python3/dist-packages/requests/api.py", line 59, in request',
      '  File "/home/ann/.venv/lib/python3.11/site-packages/stripe/charge.py", line 8, in create',
      'billing.errors.CardDeclined: the card was declined',
    ].join('\n');
    const { frames, hidden } = stackFrames(stack, [WORKSPACE], [OWN]);
    assert.equal(hidden, 1);
    assert.deepEqual(
      frames.filter((frame) => frame.location).map((frame) => [frame.text.trim(), frame.location]),
      [
        [
          `File "${WORKSPACE}/billing/tasks.py", line 14, in bill`,
          { file: `${WORKSPACE}/billing/tasks.py`, line: 14, column: 1 },
        ],
      ],
    );
    assert.equal(frames.length, 7, 'every other line is kept as text');
  });

  it("says where a failure happened: a Node stack's first workspace frame, a Python traceback's last one of the exception raised", () => {
    const node = [
      `Error: boom`,
      `    at bill (${WORKSPACE}/src/tasks.js:12:7)`,
      `    at run (${WORKSPACE}/src/main.js:3:1)`,
    ].join('\n');
    assert.deepEqual(failureLocation(node, [WORKSPACE]), { file: `${WORKSPACE}/src/tasks.js`, line: 12, column: 7 });
    const chained = [
      'Traceback (most recent call last):',
      `  File "${WORKSPACE}/billing/tasks.py", line 20, in bill`,
      `  File "${WORKSPACE}/billing/parse.py", line 5, in parse`,
      "ValueError: invalid literal for int() with base 10: 'x'",
      '',
      'The above exception was the direct cause of the following exception:',
      '',
      'Traceback (most recent call last):',
      `  File "${WORKSPACE}/billing/tasks.py", line 22, in bill`,
      `  File "${WORKSPACE}/billing/errors.py", line 9, in wrap`,
      '  File "/usr/lib/python3.11/json/__init__.py", line 2, in dumps',
      'billing.errors.BillingError: cannot bill',
    ].join('\n');
    assert.deepEqual(failureLocation(chained, [WORKSPACE]), {
      file: `${WORKSPACE}/billing/errors.py`,
      line: 9,
      column: 1,
    });
    assert.equal(failureLocation('Error: no frames', [WORKSPACE]), null);
    assert.equal(failureLocation(undefined, [WORKSPACE]), null);
  });
});
