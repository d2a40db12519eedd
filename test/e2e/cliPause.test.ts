// `taskman pause` / `taskman resume` as a user runs them: a worker claims nothing of a paused
// application (and, --until-idle, leaves its waiting tasks to a resume), `list` says it is paused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { taskman } from '../helpers/cli';
import { createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';

describe('taskman pause and resume', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const worker = ['worker', '--app', fixtureApp('basic'), '--poll-interval', '100ms', '--until-idle'];

  before(async () => {
    db = await createTestDatabase();
    env = { TASKMAN_DATABASE_URL: db.url, TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-cli-')) };
  });
  after(() => db.drop());

  it('a paused application: list says so, a worker runs none of its tasks; resumed, it runs them', async () => {
    const paused = await taskman(['pause', 'fixture-basic', '--reason', 'deploying'], env);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /application fixture-basic is paused \(since .* UTC: deploying\)/);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'echo' });

    const listed = await taskman(['list'], env);
    assert.match(listed.stdout, new RegExp(`^${id} +fixture-basic +echo +pending`, 'm'));
    assert.match(listed.stdout, /application fixture-basic is paused .*taskman resume fixture-basic/);

    const idle = await taskman(worker, env);
    assert.equal(idle.code, 0, idle.stderr);
    assert.match(idle.stderr, /fixture-basic is paused: its pending tasks wait/);
    assert.equal((await db.taskman.get(id)).state, 'pending');

    const resumed = await taskman(['resume', 'fixture-basic'], env);
    assert.equal(resumed.code, 0);
    assert.equal(resumed.stdout, 'application fixture-basic resumed\n');
    const ran = await taskman(worker, env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal((await db.taskman.get(id)).state, 'succeeded');
    assert.doesNotMatch((await taskman(['list'], env)).stdout, /is paused/);
  });

  it('resume of an application not paused says so; an invalid name is refused, exit 2', async () => {
    const notPaused = await taskman(['resume', 'never-paused'], env);
    assert.equal(notPaused.code, 0);
    assert.equal(notPaused.stdout, 'application never-paused was not paused\n');
    const bad = await taskman(['pause', 'bad name!'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /Application name "bad name!" is invalid/);
    assert.deepEqual(await db.taskman.pausedApplications(), []);
  });
});
