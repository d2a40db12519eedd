import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Scheduler } from '../../src/core';
import { isProcessAlive } from '../../src/core/processes';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

describe('every way a task can go wrong ends in its documented state', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  const submit = (task: string, payload?: unknown, application = 'fixture-basic') =>
    db.taskman.submit({ application, task, payload }).then((r) => r.id);

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['basic', 'broken-import'], { resultLimitBytes: 4096 });
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  const failures: [string, unknown, string, RegExp][] = [
    ['throwString', undefined, 'NonErrorThrown', /not an Error: 'just a string'/],
    ['exitZero', undefined, 'RunnerExited', /exited with code 0 before the task finished/],
    ['crash', undefined, 'RunnerKilled', /killed by SIGSEGV/],
    ['bigintResult', undefined, 'ResultNotSerializable', /not JSON: Do not know how to serialize a BigInt/],
    ['cyclicResult', undefined, 'ResultNotSerializable', /not JSON: Converting circular structure/],
    ['bigResult', { bytes: 10_000 }, 'ResultTooLarge', /the limit is 4096/],
    ['badProgress', undefined, 'TypeError', /ctx\.progress\(percent\) takes a number from 0 to 100/],
    ['asyncThrowOutside', undefined, 'Error', /thrown from a timer/],
    [
      '__proto__',
      undefined,
      'TaskNotExported',
      /"__proto__" is not an exported function of .*tasks\.js\. Exported tasks: .*echo/,
    ],
    ['constructor', undefined, 'TaskNotExported', /"constructor" is not an exported function/],
    ['toString', undefined, 'TaskNotExported', /"toString" is not an exported function/],
    ['notAFunction', undefined, 'TaskNotExported', /"notAFunction" is not an exported function/],
    ['doesNotExist', undefined, 'TaskNotExported', /"doesNotExist" is not an exported function/],
  ];
  for (const [task, payload, name, message] of failures) {
    it(`${task}: failed with ${name}`, async () => {
      const id = await submit(task, payload);
      const done = await waitForState(db.taskman, id, 'failed');
      assert.equal(done.error?.name, name);
      assert.match(done.error!.message, message);
      assert.equal(done.result, null);
    });
  }

  it('a tasks module that throws at import: failed with the import error and its stack', async () => {
    const id = await submit('never', undefined, 'fixture-broken');
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'TasksModuleLoadError');
    assert.match(
      task.error!.message,
      /Loading the tasks module .*broken-import\/tasks\.js failed: Error: the tasks module failed while loading/,
    );
    assert.match(task.error!.stack ?? '', /broken-import\/tasks\.js:2/);
  });

  it('a task that prints megabytes: succeeded, with only the last 64 KiB of output kept', async () => {
    const id = await submit('printMegabytes', { megabytes: 5 });
    const task = await waitForState(db.taskman, id, 'succeeded', 60_000);
    assert.match(task.logs!, /^\[… \d+ earlier bytes of output dropped\]\n/);
    assert.ok(task.logs!.endsWith('THE END\n'));
    assert.ok(Buffer.byteLength(task.logs!) < 64 * 1024 + 100);
  });

  it("a task that leaves a child process behind: the child is killed with the runner's group", async () => {
    const id = await submit('spawnChild');
    const task = await waitForState(db.taskman, id, 'succeeded');
    const { childPid } = task.result as { childPid: number };
    await waitFor(`the grandchild ${childPid} to be gone`, () => !isProcessAlive(childPid));
  });

  it('a task that spawns a child and exits: failed, and the child is killed too', async () => {
    const pidFile = path.join(os.tmpdir(), `taskman-grandchild-${process.pid}-${Date.now()}`);
    const { id } = await db.taskman.submit({ application: 'fixture-basic', task: 'spawnChildAndExit' });
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'RunnerExited');
    assert.match(task.error!.message, /code 3/);
    const written = path.join(os.tmpdir(), `taskman-grandchild-${id}`);
    const childPid = Number(fs.readFileSync(fs.existsSync(pidFile) ? pidFile : written, 'utf8'));
    await waitFor(`the grandchild ${childPid} to be gone`, () => !isProcessAlive(childPid));
    fs.rmSync(written, { force: true });
  });

  it('a runner killed from outside: failed, naming the signal', async () => {
    const id = await submit('waitWithPid');
    const running = await waitFor('the runner to report its pid', async () => {
      const task = await db.taskman.get(id);
      return task.progress.message?.startsWith('pid ') ? task : undefined;
    });
    process.kill(Number(running.progress.message!.slice(4)), 'SIGKILL');
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'RunnerKilled');
    assert.match(task.error!.message, /SIGKILL/);
  });

  it('the scheduler survives all of the above and still runs tasks', async () => {
    const id = await submit('echo', { still: 'alive' });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.deepEqual((task.result as { payload: unknown }).payload, { still: 'alive' });
  });
});
