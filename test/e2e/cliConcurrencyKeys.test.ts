// Concurrency keys as a user meets them on the command line: submit's --concurrency-key (and a
// batch line's), `list` and `show` saying a pending task waits for its key, and the bad keys refused.
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

describe('taskman and concurrency keys', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let scheduler: Scheduler | undefined;

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(async () => {
    await scheduler?.stop();
    await db.drop();
  });

  it('a task submitted with a busy key waits pending, and list and show say why', async () => {
    const submit = (payload: string) =>
      taskman(['submit', 'fixture-keyed', 'sleep', '--payload', payload, '--concurrency-key', 'customer:42'], env);
    const first = await submit('{"ms":30000}');
    assert.equal(first.code, 0, first.stderr);
    const second = await submit('{"ms":10}');
    const [holder, waiting] = [first.stdout.trim(), second.stdout.trim()];
    scheduler = await startScheduler(db.taskman, ['keyed']);
    await waitFor('the first to start', async () => (await db.taskman.get(holder)).startedAt !== null);

    const listed = await taskman(['list', '--app', 'fixture-keyed'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${waiting} +fixture-keyed +sleep +pending +key customer:42 busy`, 'm'));
    const shown = await taskman(['show', waiting], env);
    assert.match(shown.stdout, /^concurrency: +key customer:42$/m);
    assert.match(shown.stdout, /^waiting: +for its key: key customer:42 busy$/m);
    const json = JSON.parse((await taskman(['show', waiting, '--json'], env)).stdout);
    assert.equal(json.concurrency_key, 'customer:42');

    assert.equal((await db.taskman.abort(holder)).outcome, 'abort-requested');
    await waitFor('the waiting task to run', async () => (await db.taskman.get(waiting)).state === 'succeeded');
  });

  it('a batch line may carry its own concurrency key', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-batch-')), 'b.jsonl');
    fs.writeFileSync(file, '{"payload":{"n":1},"concurrencyKey":"line-1"}\n{"n":2}\n');
    const result = await taskman(['submit', 'fixture-keyed', 'echo', '--batch', file, '--concurrency-key', 'all'], env);
    assert.equal(result.code, 0, result.stderr);
    const [a, b] = result.stdout.trim().split('\n');
    assert.equal((await db.taskman.get(a)).concurrencyKey, 'line-1');
    assert.equal((await db.taskman.get(b)).concurrencyKey, 'all');
  });

  it('refuses a bad key with a clear error and submits nothing', async () => {
    const before = (await db.taskman.list({ applications: ['fixture-keyed'], limit: 1000 })).length;
    for (const bad of ['', 'k'.repeat(192), 'a\tb']) {
      const result = await taskman(['submit', 'fixture-keyed', 'echo', '--concurrency-key', bad], env);
      assert.equal(result.code, 2, `${JSON.stringify(bad)}: ${result.stderr}`);
      assert.match(result.stderr, /concurrencyKey must be a string of 1-191 characters without control characters/);
    }
    assert.equal((await db.taskman.list({ applications: ['fixture-keyed'], limit: 1000 })).length, before);
  });
});
