import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listApplicationTasks, loadApplicationConfig, type Scheduler } from '../../src/core';
import { isProcessAlive } from '../../src/core/processes';
import { RunnerProcess } from '../../src/core/scheduler/runnerProcess';
import { createTestDatabase, fixtureApp, runnerScript, type TestDatabase } from '../helpers/database';
import { FAST_TIMINGS, startReportingPid, startScheduler, waitForState } from '../helpers/scheduler';
import { waitFor } from '../helpers/wait';

const APP = 'fixture-python';

describe('Python applications: every way a task ends, as for Node', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  const submit = (task: string, payload?: unknown, application = APP) =>
    db.taskman.submit({ application, task, payload }).then((r) => r.id);

  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['python', 'python-module', 'python-broken'], {
      resultLimitBytes: 4096,
    });
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  it('runs a task with its payload, context, environment, PYTHONPATH and working directory', async () => {
    const id = await submit('echo', { n: 1, text: 'ünïcödé' });
    const task = await waitForState(db.taskman, id, 'succeeded');
    const result = task.result as Record<string, unknown>;
    assert.deepEqual(result.payload, { n: 1, text: 'ünïcödé' });
    assert.equal(result.id, id);
    assert.equal(result.attempt, 1);
    assert.equal(result.mode, 'test');
    assert.equal(result.pythonPath, path.join(fixtureApp('python'), 'lib'));
    assert.equal(result.cwd, fixtureApp('python'));
    assert.equal(result.taskId, id, 'a process of its own says which task it runs');
    assert.equal(result.doubled, 42, 'a module found on PYTHONPATH');
    assert.notEqual(result.pid, process.pid);
  });

  it('an async def task reports progress and logs', async () => {
    const id = await submit('progress', { steps: 5 });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.deepEqual(task.result, { steps: 5 });
    assert.deepEqual(task.progress, { percent: 100, message: 'step 5 of 5' });
    assert.match(task.logs!, /did step 1\n[\s\S]*did step 5\n/);
  });

  it('an exception arrives with its name, message, code and Python traceback, its cause included', async () => {
    const deep = await waitForState(db.taskman, await submit('failDeep'), 'failed');
    assert.equal(deep.error?.name, 'BillingError');
    assert.equal(deep.error?.message, 'cannot bill 42');
    assert.equal(deep.error?.code, 'E_BILLING');
    const tasksFile = path.join(fixtureApp('python'), 'tasks.py');
    assert.match(deep.error!.stack!, /^Traceback \(most recent call last\):\n/);
    assert.ok(deep.error!.stack!.includes(`File "${tasksFile}", line`), deep.error!.stack);
    assert.match(deep.error!.stack!, /in _inner\n/);
    const chained = await waitForState(db.taskman, await submit('fail'), 'failed');
    assert.equal(chained.error?.name, 'RuntimeError');
    assert.match(chained.error!.stack!, /ValueError: invalid literal[\s\S]*direct cause[\s\S]*RuntimeError/);
  });

  const failures: [string, unknown, string, RegExp][] = [
    ['exitThree', undefined, 'RunnerExited', /exited with code 3 before the task finished/],
    ['exitZero', undefined, 'RunnerExited', /exited with code 0 before the task finished .*sys\.exit\(\)/],
    ['cyclicResult', undefined, 'ResultNotSerializable', /not JSON: Circular reference detected/],
    ['strayThread', undefined, 'RuntimeError', /raised in a thread/],
    ['strayAsyncio', undefined, 'RuntimeError', /raised in a callback/],
    ['crash', undefined, 'RunnerKilled', /killed by SIGSEGV/],
    ['setResult', undefined, 'ResultNotSerializable', /not JSON: .*set/],
    ['nanResult', undefined, 'ResultNotSerializable', /not JSON: Out of range float values/],
    ['bigResult', { bytes: 10_000 }, 'ResultTooLarge', /the limit is 4096/],
    ['badProgress', undefined, 'TypeError', /ctx\.progress\(percent\) takes a number from 0 to 100/],
    ['__import__', undefined, 'TaskNotExported', /"__import__" is not an exported function of .*tasks\.py\. .*echo/],
    ['__builtins__', undefined, 'TaskNotExported', /"__builtins__" is not an exported function/],
    ['getcwd', undefined, 'TaskNotExported', /"getcwd" is not an exported function/],
    ['fixturehelpers', undefined, 'TaskNotExported', /"fixturehelpers" is not an exported function/],
    ['_inner', undefined, 'TaskNotExported', /"_inner" is not an exported function/],
    ['BillingError', undefined, 'TaskNotExported', /"BillingError" is not an exported function/],
    ['notAFunction', undefined, 'TaskNotExported', /"notAFunction" is not an exported function/],
    ['doesNotExist', undefined, 'TaskNotExported', /"doesNotExist" is not an exported function/],
  ];
  for (const [task, payload, name, message] of failures) {
    it(`${task}: failed with ${name}`, async () => {
      const done = await waitForState(db.taskman, await submit(task, payload), 'failed');
      assert.equal(done.error?.name, name);
      assert.match(done.error!.message, message);
      assert.equal(done.result, null);
    });
  }

  it('a dotted name is refused at submit, and by the runner itself: no module is looked up by it', async () => {
    await assert.rejects(submit('os.system'), /Task name "os\.system" is invalid/);
    const app = loadApplicationConfig(fixtureApp('python'));
    for (const task of ['os.system', 'fixturehelpers.double', '__import__', '']) {
      const runner = new RunnerProcess({ app, runnerScript, outputLimitBytes: 4096 });
      const exit = await runner.run({
        type: 'start',
        taskId: '1',
        attempt: 1,
        task,
        payloadJson: '"id"',
        tasksModule: app.tasks,
        resultLimitBytes: 4096,
        keepAlive: false,
      });
      assert.equal(exit.final?.type, 'failed', task);
      assert.equal(exit.final?.type === 'failed' && exit.final.error.name, 'TaskNotExported', task);
    }
  });

  it("ctx.submit of a bad child raises ctx.SubmitError with the submission's error", async () => {
    const task = await waitForState(db.taskman, await submit('submitBadChild'), 'succeeded');
    assert.match((task.result as { refused: string }).refused, /not a duration/);
  });

  it('stdout and stderr are captured, interleaved, with the failure', async () => {
    const task = await waitForState(db.taskman, await submit('stderrAndFail'), 'failed');
    assert.equal(task.error?.name, 'ValueError');
    assert.match(task.logs!, /to stdout\n[\s\S]*to stderr: something is off\n/);
  });

  it('a tasks module that raises at import: failed with the import error and its traceback', async () => {
    const task = await waitForState(db.taskman, await submit('never', undefined, 'fixture-python-broken'), 'failed');
    assert.equal(task.error?.name, 'TasksModuleLoadError');
    assert.match(
      task.error!.message,
      /Loading the tasks module .*python-broken\/tasks\.py failed: ImportError: the tasks module failed while loading/,
    );
    assert.match(task.error!.stack ?? '', /python-broken\/tasks\.py", line 5/);
  });

  it('a module named by its dotted name: imported from PYTHONPATH; the callables of __all__ are its tasks; its import runs in the runner', async () => {
    const app = 'fixture-python-module';
    const where = await waitForState(db.taskman, await submit('where', null, app), 'succeeded');
    assert.deepEqual(where.result, { module: 'fixturepkg.tasks', helper: 'fixturepkg.helpers' });
    const side = await waitForState(db.taskman, await submit('sideEffects', null, app), 'succeeded');
    const { importedBy, pid } = side.result as { importedBy: number; pid: number };
    assert.equal(importedBy, pid, 'imported by the runner that ran the task');
    assert.equal((await waitForState(db.taskman, await submit('scaled', 4, app), 'succeeded')).result, 40);
    assert.equal((await waitForState(db.taskman, await submit('counter', null, app), 'succeeded')).result, 'called');
    for (const hidden of ['notListed', 'Counter']) {
      const task = await waitForState(db.taskman, await submit(hidden, null, app), 'failed');
      assert.equal(task.error?.name, 'TaskNotExported', hidden);
    }
  });

  it('lists the tasks in a child process: the functions the module defines, or its __all__', async () => {
    const list = (name: string) => listApplicationTasks(loadApplicationConfig(fixtureApp(name)), { runnerScript });
    const names = await list('python');
    assert.ok(names.includes('echo') && names.includes('progress') && names.includes('record'), names.join());
    for (const hidden of ['getcwd', 'fixturehelpers', '_inner', 'BillingError', 'notAFunction'])
      assert.ok(!names.includes(hidden), `${hidden} is no task`);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(await list('python-module'), ['counter', 'scaled', 'sideEffects', 'where']);
    await assert.rejects(
      list('python-broken'),
      /python-broken\/tasks\.py failed: ImportError: the tasks module failed/,
    );
  });

  it('a task that prints megabytes: succeeded, with only the last 64 KiB of output kept', async () => {
    const task = await waitForState(db.taskman, await submit('printMegabytes', { megabytes: 5 }), 'succeeded', 60_000);
    assert.match(task.logs!, /^\[… \d+ earlier bytes of output dropped\]\n/);
    assert.ok(task.logs!.endsWith('THE END\n'));
  });

  it("a task that leaves a child process behind: the child is killed with the runner's group", async () => {
    const task = await waitForState(db.taskman, await submit('spawnChild'), 'succeeded');
    const { childPid } = task.result as { childPid: number };
    await waitFor(`the grandchild ${childPid} to be gone`, () => !isProcessAlive(childPid));
  });

  it('a task that spawns a child and exits: failed, and the child is killed too', async () => {
    const id = await submit('spawnChildAndExit');
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'RunnerExited');
    assert.match(task.error!.message, /code 3/);
    const pidFile = path.join(os.tmpdir(), `taskman-grandchild-${id}`);
    const childPid = Number(fs.readFileSync(pidFile, 'utf8'));
    fs.rmSync(pidFile, { force: true });
    await waitFor(`the grandchild ${childPid} to be gone`, () => !isProcessAlive(childPid));
  });

  it('a runner killed from outside: failed, naming the signal', async () => {
    const { id, pid } = await startReportingPid(db.taskman, APP, 'waitWithPid');
    process.kill(pid, 'SIGKILL');
    const task = await waitForState(db.taskman, id, 'failed');
    assert.equal(task.error?.name, 'RunnerKilled');
    assert.match(task.error!.message, /SIGKILL/);
  });

  for (const [task, how] of [
    ['abortable', 'ctx.check_abort() raises'],
    ['swallowAbort', "ctx.check_abort() raises past the task's own except Exception"],
    ['hang', 'a task that ignores the abort gets SIGTERM'],
    ['stubborn', 'a task that ignores SIGTERM gets SIGKILL'],
  ] as const) {
    it(`abort: ${how}, and it ends aborted with the reason`, async () => {
      const id = await submit(task);
      await waitFor(`task ${id} to start`, async () => (await db.taskman.get(id)).startedAt !== null);
      if (task !== 'hang' && task !== 'swallowAbort')
        await waitFor(
          `task ${id} to report progress`,
          async () => (await db.taskman.get(id)).progress.percent !== null,
        );
      await db.taskman.abort(id, 'no longer needed');
      const done = await waitForState(db.taskman, id, 'aborted');
      assert.equal(done.abortReason, 'no longer needed');
      if (task === 'stubborn') assert.match(done.logs!, /ignoring SIGTERM/);
      if (task === 'abortable') assert.match(done.logs!, /abortable: waiting/);
    });
  }

  it('ctx.submit: a child task of the same application, the running task its parent', async () => {
    const id = await submit('submitChild');
    const task = await waitForState(db.taskman, id, 'succeeded');
    const childId = (task.result as { child: string }).child;
    const child = await waitForState(db.taskman, childId, 'succeeded');
    assert.equal(child.parentId, id);
    assert.deepEqual((child.result as { payload: unknown }).payload, { from: id });
  });

  it('the scheduler survives all of the above and still runs Python tasks', async () => {
    const task = await waitForState(db.taskman, await submit('echo', { still: 'alive' }), 'succeeded');
    assert.deepEqual((task.result as { payload: unknown }).payload, { still: 'alive' });
  });
});

describe('Python applications: pooled runners', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  before(async () => {
    db = await createTestDatabase();
    scheduler = await startScheduler(db.taskman, ['python-pooled'], { concurrency: 1 });
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
  });

  it('runs many tasks in one process, one at a time, and replaces a runner whose task failed at exit', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await db.taskman.submit({ application: APP, task: 'echo', payload: i })).id);
    const pids = new Set<number>();
    for (const id of ids) {
      const task = await waitForState(db.taskman, id, 'succeeded');
      pids.add((task.result as { pid: number }).pid);
      assert.equal((task.result as { taskId: string | null }).taskId, null, 'a pooled runner names no task');
    }
    assert.equal(pids.size, 1, `one runner process ran all three: ${[...pids].join(', ')}`);
    const exited = await db.taskman.submit({ application: APP, task: 'exitThree' });
    assert.equal((await waitForState(db.taskman, exited.id, 'failed')).error?.name, 'RunnerExited');
    const after = await db.taskman.submit({ application: APP, task: 'echo', payload: 'after' });
    const next = await waitForState(db.taskman, after.id, 'succeeded');
    assert.ok(!pids.has((next.result as { pid: number }).pid), 'a new runner after the exit');
  });
});

describe('Python applications: a virtualenv', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-venv-app-'));
  before(async () => {
    db = await createTestDatabase();
    // A virtualenv whose own site-packages holds a module the system's Python does not have.
    execFileSync('python3', ['-m', 'venv', '--without-pip', path.join(root, '.venv')]);
    const purelib = execFileSync(path.join(root, '.venv', 'bin', 'python'), [
      '-c',
      'import sysconfig; print(sysconfig.get_paths()["purelib"])',
    ])
      .toString()
      .trim();
    fs.writeFileSync(path.join(purelib, 'only_in_the_venv.py'), 'GREETING = "from the venv"\n');
    fs.writeFileSync(
      path.join(root, 'tasks.py'),
      'import sys\nimport only_in_the_venv\n\n\ndef where(payload, ctx):\n    return {"prefix": sys.prefix, "greeting": only_in_the_venv.GREETING}\n',
    );
    const config = {
      name: 'venv-app',
      version: '1',
      runtime: 'python',
      python: './.venv/bin/python',
      tasks: './tasks.py',
    };
    fs.writeFileSync(path.join(root, 'taskman.config.json'), JSON.stringify(config));
    scheduler = db.taskman.createScheduler({
      applications: [loadApplicationConfig(root)],
      journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-')),
      runnerScript,
      ...FAST_TIMINGS,
    });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await db.drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("runs the tasks with the virtualenv's interpreter and packages", async () => {
    const { id } = await db.taskman.submit({ application: 'venv-app', task: 'where' });
    const task = await waitForState(db.taskman, id, 'succeeded');
    assert.deepEqual(task.result, { prefix: path.join(root, '.venv'), greeting: 'from the venv' });
  });
});
