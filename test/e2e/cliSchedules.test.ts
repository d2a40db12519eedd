// `taskman schedules` as a user runs it: each schedule's next runs and last tick, the invalid one
// named with its field (exit 1, the others still listed), and the folders it cannot read.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { taskman } from '../helpers/cli';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { startScheduler } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('taskman schedules', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const app = fixtureApp('scheduled');

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  it('lists each schedule with its next runs and last task, and names the invalid one (exit 1)', async () => {
    const before = await taskman(['schedules', '--app', app], env);
    assert.equal(before.code, 1, before.stderr);
    assert.match(before.stdout, /^SCHEDULE +CRON +TIME ZONE +TASK +NEXT 3 RUNS \(UTC\) +LAST TICK \(UTC\) → TASK$/m);
    assert.match(
      before.stdout,
      /^every-second +\* \* \* \* \* \* +UTC +echo +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(, )?){3} +none yet$/m,
    );
    assert.match(before.stdout, /^nightly +0 2 \* \* \* +Europe\/Amsterdam +echo +\d{4}-\d\d-\d\d 0[01]:00:00, /m);
    assert.match(
      before.stderr,
      /taskman\.config\.json: schedules\[1\] "broken"\.cron "61 \* \* \* \*" is not a cron pattern: .*; it does not run/,
    );

    const scheduler = await startScheduler(db.taskman, ['scheduled']);
    try {
      await waitFor('a tick of every-second', async () => (await db.taskman.latestTicks('fixture-scheduled')).size > 0);
    } finally {
      await scheduler.stop();
    }
    const { taskId } = (await db.taskman.latestTicks('fixture-scheduled')).get('every-second')!;
    const after = await taskman(['schedules', '--app', app], env);
    assert.match(after.stdout, new RegExp(`^every-second .* → #${taskId} (pending|running|succeeded)$`, 'm'));

    const json = JSON.parse((await taskman(['schedules', '--app', app, '--json'], env)).stdout);
    assert.equal(json.application, 'fixture-scheduled');
    assert.deepEqual(
      json.schedules.map((s: { name: string; next_runs: string[] }) => [s.name, s.next_runs.length]),
      [
        ['every-second', 3],
        ['nightly', 3],
      ],
    );
    assert.equal(json.schedules[0].last_tick.task, taskId);
    assert.deepEqual(json.problems[0].field, 'cron');
  });

  it('refuses a folder that does not exist or has no config', async () => {
    const missing = await taskman(['schedules', '--app', path.join(os.tmpdir(), 'no-such-taskman-app')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    const empty = await taskman(['schedules', '--app', fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-empty-'))], env);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /has no taskman\.config\.json/);
  });
});
