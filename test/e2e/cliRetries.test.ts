// Retries as a user meets them on the command line: the config's taskOptions and submit's own
// flags, a worker retrying, `list` and `show` saying what happened and what comes next.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { taskman } from '../helpers/cli';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { startScheduler } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('taskman and retries', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const worker = (app: string) => ['worker', '--app', fixtureApp(app), '--poll-interval', '100ms', '--until-idle'];

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  it("a worker retries a failed task as the config's taskOptions say; show lists the earlier attempt", async () => {
    const submitted = await taskman(['submit', 'fixture-retrying', 'flaky', '--payload', '{"failures":1}'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const ran = await taskman(worker('retrying'), env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, new RegExp(`task ${id}: failed \\(Error: failing attempt 1\\), retrying in \\d+ms`));

    const shown = await taskman(['show', id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^state: +succeeded$/m);
    assert.match(shown.stdout, /^attempt: +2 of 3$/m);
    assert.match(shown.stdout, /^retries: +2, after 100ms doubling up to 150ms$/m);
    assert.match(
      shown.stdout,
      /earlier attempts:\n {2}#1 of 3 failed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d after \d+m?s on scheduler \d+: Error: failing attempt 1; next attempt after \d+ms/,
    );
    const json = JSON.parse((await taskman(['show', id, '--json'], env)).stdout);
    assert.equal(json.retries, 2);
    assert.deepEqual(
      json.attempts.map((a: { attempt: number; state: string; error: { message: string } }) => [
        a.attempt,
        a.state,
        a.error.message,
      ]),
      [[1, 'failed', 'failing attempt 1']],
    );
  });

  it('submit --retries gives a task without taskOptions its own; list and show say it waits for its next attempt', async () => {
    const submitted = await taskman(
      ['submit', 'fixture-basic', 'flaky', '--payload', '{"failures":9}', '--retries', '1', '--retry-delay', '1h'],
      env,
    );
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    let scheduler: Scheduler | undefined = await startScheduler(db.taskman, ['basic']);
    try {
      await waitFor('the first attempt to fail and the task to wait', async () => {
        const task = await db.taskman.get(id);
        return task.state === 'pending' && task.attempt === 1;
      });
      await scheduler.stop();
      scheduler = undefined;
      const listed = await taskman(['list'], env);
      assert.match(
        listed.stdout,
        new RegExp(`^${id} +fixture-basic +flaky +pending +retrying in \\d+m\\d*s? · attempt 2 of 2`, 'm'),
      );
      const shown = await taskman(['show', id], env);
      assert.match(shown.stdout, /^retrying: +in \d+m\d*s? · attempt 2 of 2$/m);
      assert.match(shown.stdout, /^error:\n {2}Error: failing attempt 1$/m);
    } finally {
      await scheduler?.stop();
      await db.taskman.abort(id);
    }
  });

  it('refuses bad retry options, exit 2, and submits nothing', async () => {
    const before = (await db.taskman.list()).length;
    const cases: [string[], RegExp][] = [
      [['--retries', '-1'], /--retries must be a whole number from 0 to 100, got "-1"/],
      [['--retries', '101'], /--retries must be a whole number from 0 to 100/],
      [['--retries', 'three'], /--retries must be a whole number/],
      [['--retry-delay', 'soon'], /retryDelay must be a duration such as "10s" or "5m", got "soon"/],
      [['--retry-max-delay', '8d'], /retryMaxDelay must be at most 7d/],
    ];
    for (const [flags, message] of cases) {
      const result = await taskman(['submit', 'fixture-basic', 'flaky', ...flags], env);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const batch = await taskman(['submit', 'fixture-basic', 'flaky', '--batch', '-'], env, {
      input: '{"payload":{},"retries":2}\n{"payload":{},"retries":"x"}\n',
    });
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /line 2 of standard input: retries must be an integer from 0 to 100, got "x"/);
    assert.equal((await db.taskman.list()).length, before);
  });
});
