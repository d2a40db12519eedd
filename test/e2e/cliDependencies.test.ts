// Tasks that run after others, as a user meets them on the command line: submit's --after, `list`
// and `show` saying what a task waits for, a skip naming its dependency, and the bad --after refused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { taskman } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('taskman submit --after', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let scheduler: Scheduler | undefined;
  const submit = async (...args: string[]) => {
    const result = await taskman(['submit', 'fixture-basic', ...args], env);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
  };

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(async () => {
    await scheduler?.stop();
    await db.drop();
  });

  it('a waiting task says what it waits for; it runs once they succeeded, or is skipped naming the one that failed', async () => {
    const first = await submit('sleep', '--payload', '{"ms":400}');
    const second = await submit('echo');
    const waiting = await submit('echo', '--after', `${first},${second}`);
    const failing = await submit('fail');
    const skipped = await submit('echo', '--after', failing);

    const listed = await taskman(['list', '--app', 'fixture-basic', '--state', 'waiting'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      new RegExp(`^${waiting} +fixture-basic +echo +waiting +waiting for #${first}, #${second}`, 'm'),
    );
    const shown = await taskman(['show', waiting], env);
    assert.match(shown.stdout, /^state: +waiting$/m);
    assert.match(shown.stdout, new RegExp(`^waiting: +for #${first}, #${second}$`, 'm'));
    assert.match(shown.stdout, new RegExp(`^after: +#${first} pending, #${second} pending$`, 'm'));

    scheduler = await startScheduler(db.taskman, ['basic']);
    await waitFor(
      'both to end',
      async () => (await db.taskman.get(waiting)).endedAt !== null && (await db.taskman.get(skipped)).endedAt !== null,
    );
    assert.match(
      (await taskman(['show', waiting], env)).stdout,
      new RegExp(`^after: +#${first} succeeded, #${second} succeeded$`, 'm'),
    );
    const json = JSON.parse((await taskman(['show', skipped, '--json'], env)).stdout);
    assert.equal(json.state, 'skipped');
    assert.equal(json.error.name, 'DependencyNotSucceeded');
    assert.deepEqual(json.after, [{ id: failing, state: 'failed' }]);
    assert.equal((await db.taskman.get(waiting)).state, 'succeeded');
  });

  it('refuses an --after naming no task, or not a task id, with --batch too, and submits nothing', async () => {
    const count = async () => (await db.taskman.list({ applications: ['fixture-basic'], limit: 1000 })).length;
    const before = await count();
    for (const [bad, message] of [
      ['999999999', /after names task 999999999, which does not exist: nothing was submitted/],
      ['12x', /"12x" is not a task id/],
    ] as const) {
      const result = await taskman(['submit', 'fixture-basic', 'echo', '--after', bad], env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
    const batch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-batch-')), 'b.jsonl');
    fs.writeFileSync(batch, '{}\n');
    const batched = await taskman(['submit', 'fixture-basic', 'echo', '--batch', batch, '--after', '1'], env);
    assert.equal(batched.code, 2);
    assert.match(batched.stderr, /--after is not taken with --batch/);
    assert.equal(await count(), before);
  });
});
