import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as mysql from 'mysql2/promise';
import { connectionOptions, createTestDatabase, fixtureApp, type TestDatabase } from '../helpers/database';
import { startTaskman, taskman } from '../helpers/cli';
import { Scrape } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';

const APP = 'fixture-basic';
const byTask = (task: string) => ({ application: APP, task });

/** Starts `taskman worker … --metrics-port 0` and returns it with the URL it logged. */
async function startWorker(env: Record<string, string>, extra: string[] = []) {
  const worker = startTaskman(
    ['worker', '--app', fixtureApp('basic'), '--poll-interval', '100ms', '--metrics-port', '0', ...extra],
    env,
  );
  const url = await waitFor(
    'the worker to log its metrics URL',
    () => /metrics at (http:\/\/\S+\/metrics)/.exec(worker.output())?.[1],
  );
  return { ...worker, url };
}

describe('taskman worker --metrics-port and taskman stats', () => {
  let db: TestDatabase;
  let env: Record<string, string>;

  before(async () => {
    db = await createTestDatabase();
    env = {
      TASKMAN_DATABASE_URL: db.url,
      TASKMAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-metrics-')),
    };
  });
  after(() => db.drop());

  it('serves Prometheus text whose counters, histograms and gauges reflect the tasks it ran', async () => {
    for (let i = 0; i < 3; i++) await db.taskman.submit({ application: APP, task: 'echo', payload: { i } });
    await db.taskman.submit({ application: APP, task: 'fail' });
    await db.taskman.submit({ application: APP, task: 'sleep', payload: { ms: 300 } });
    await db.taskman.submit({
      application: APP,
      task: 'flaky',
      payload: { failures: 1 },
      retries: 1,
      retryDelay: '10ms',
    });
    await db.taskman.submit({ application: APP, task: 'echo', runAfter: '1h' });
    const worker = await startWorker(env);
    try {
      assert.match(worker.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'on loopback by default');
      const done = await waitFor('six tasks counted as ended', async () => {
        const scrape = await Scrape.of(worker.url);
        return scrape.family('taskman_tasks_ended_total', 'counter').samples.reduce((sum, s) => sum + s.value, 0) === 6
          ? scrape
          : undefined;
      });
      assert.match(done.contentType, /^text\/plain; version=0\.0\.4/);
      assert.equal(done.value('taskman_tasks_ended_total', 'counter', { ...byTask('echo'), state: 'succeeded' }), 3);
      assert.equal(done.value('taskman_tasks_ended_total', 'counter', { ...byTask('fail'), state: 'failed' }), 1);
      assert.equal(done.value('taskman_tasks_ended_total', 'counter', { ...byTask('sleep'), state: 'succeeded' }), 1);
      assert.equal(done.value('taskman_tasks_ended_total', 'counter', { ...byTask('flaky'), state: 'succeeded' }), 1);
      assert.equal(done.value('taskman_tasks_retried_total', 'counter', byTask('flaky')), 1);

      for (const [task, count] of [
        ['echo', 3],
        ['fail', 1],
        ['sleep', 1],
      ] as const) {
        assert.equal(
          done.histogram('taskman_task_wait_seconds', byTask(task)).count,
          count,
          `${task}: one wait per start`,
        );
        assert.equal(
          done.histogram('taskman_task_run_seconds', byTask(task)).count,
          count,
          `${task}: one run time per end`,
        );
      }
      const sleepRun = done.histogram('taskman_task_run_seconds', byTask('sleep'));
      assert.ok(sleepRun.sum >= 0.3, `the sleep task ran at least its 300 ms: ${sleepRun.sum} s`);
      assert.equal(sleepRun.buckets.get(0.25), 0, 'and is not in the buckets below 300 ms');
      assert.ok(done.histogram('taskman_task_wait_seconds', byTask('echo')).sum > 0);

      assert.ok(done.value('taskman_claims_total', 'counter', { application: APP }) >= 1);
      assert.ok(done.value('taskman_claimed_tasks_total', 'counter', { application: APP }) >= 5);
      assert.ok(
        done.sample('taskman_claim_conflicts_total', 'counter', { application: APP }),
        'conflicts are reported from 0',
      );
      for (const kind of ['unavailable', 'conflict', 'tls', 'access', 'other']) {
        assert.equal(done.value('taskman_database_errors_total', 'counter', { kind }), 0, `no ${kind} database error`);
      }
      assert.equal(done.value('taskman_slots_running', 'gauge'), 0);
      assert.equal(done.value('taskman_slots_free', 'gauge'), 4, "the application's concurrency");
      assert.ok(done.family('process_cpu_seconds_total', 'counter'), "and the process's own metrics");

      // Read at most once per 5 s: wait for a reading taken after the tasks ended.
      await waitFor('the queue depth to show only the delayed task', async () => {
        const scrape = await Scrape.of(worker.url);
        return (
          scrape.value('taskman_queue_depth', 'gauge', { application: APP, state: 'pending' }) === 1 &&
          scrape.value('taskman_queue_depth', 'gauge', { application: APP, state: 'running' }) === 0
        );
      });

      const { id } = await db.taskman.submit({ application: APP, task: 'abortable' });
      await waitFor('the slots to show the running task', async () => {
        const scrape = await Scrape.of(worker.url);
        return (
          scrape.value('taskman_slots_running', 'gauge') === 1 && scrape.value('taskman_slots_free', 'gauge') === 3
        );
      });
      await waitFor(
        'the queue depth to show it running',
        async () =>
          (await Scrape.of(worker.url)).value('taskman_queue_depth', 'gauge', {
            application: APP,
            state: 'running',
          }) === 1,
      );
      await db.taskman.abort(id);
      await waitFor(
        'the abort to be counted',
        async () =>
          (await Scrape.of(worker.url)).value('taskman_tasks_ended_total', 'counter', {
            ...byTask('abortable'),
            state: 'aborted',
          }) === 1,
      );

      const other = await fetch(worker.url.replace(/\/metrics$/, '/'));
      assert.equal(other.status, 404);
      assert.match(await other.text(), /the metrics are at \/metrics/);
    } finally {
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.output());
    }
  });

  it('stats --json prints the same numbers from the database, over a window', async () => {
    const stats = await taskman(['stats', '--json'], env);
    assert.equal(stats.code, 0, stats.stderr);
    const json = JSON.parse(stats.stdout);
    assert.equal(json.source, 'database');
    assert.equal(json.window.seconds, 3600, 'the last hour by default');
    assert.ok(new Date(json.window.until).getTime() - new Date(json.window.since).getTime() === 3_600_000);
    assert.deepEqual(json.queue, [{ application: APP, state: 'pending', count: 1 }]);
    const ended = (task: string, state: string) =>
      json.ended.find((row: { task: string; state: string }) => row.task === task && row.state === state);
    assert.deepEqual(
      [
        ended('echo', 'succeeded').count,
        ended('fail', 'failed').count,
        ended('sleep', 'succeeded').count,
        ended('abortable', 'aborted').count,
      ],
      [3, 1, 1, 1],
    );
    const sleep = ended('sleep', 'succeeded');
    assert.equal(sleep.timed, 1);
    assert.ok(sleep.run_seconds.p50 >= 0.3 && sleep.run_seconds.p95 >= sleep.run_seconds.p50, JSON.stringify(sleep));
    assert.ok(ended('echo', 'succeeded').wait_seconds.p95 >= 0);
    assert.match(
      json.not_in_database,
      /claims, claim conflicts, database errors and slots are counted inside each worker/,
    );

    // A task that ended before the window is not counted in it.
    await db.sql.query("UPDATE taskman_task SET ended_at = NOW(6) - INTERVAL 2 HOUR WHERE task = 'fail'");
    const lastHour = JSON.parse((await taskman(['stats', '--json'], env)).stdout);
    assert.equal(
      lastHour.ended.find((row: { task: string }) => row.task === 'fail'),
      undefined,
    );
    const threeHours = JSON.parse((await taskman(['stats', '--json', '--window', '3h'], env)).stdout);
    assert.equal(threeHours.ended.find((row: { task: string }) => row.task === 'fail').count, 1);

    const text = await taskman(['stats'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^APPLICATION +TASK +STATE +TASKS +WAIT P50 +WAIT P95 +RUN P50 +RUN P95$/m);
    assert.match(text.stdout, /^fixture-basic +sleep +succeeded +1 /m);
    assert.match(text.stdout, /^Not here: claims, claim conflicts, database errors and slots/m);

    for (const bad of ['0', 'soon']) {
      const refused = await taskman(['stats', '--window', bad], env);
      assert.equal(refused.code, 2, `--window ${bad}`);
      assert.match(refused.stderr, /--window/);
    }
  });

  it('a metrics port in use: one line on stderr, exit 2, and nothing claimed', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const { id } = await db.taskman.submit({ application: APP, task: 'echo' });
    try {
      const run = await taskman(['worker', '--app', fixtureApp('basic'), '--metrics-port', String(port)], env);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        run.stderr,
        `taskman: --metrics-port ${port}: 127.0.0.1:${port} is already in use; pick another port (0 lets the system choose) or stop what listens there.\n`,
      );
      assert.equal((await db.taskman.get(id)).state, 'pending', 'the worker claimed nothing');
      assert.deepEqual(await db.taskman.listSchedulers(), []);
    } finally {
      holder.close();
      await db.taskman.abort(id);
    }
  });

  it('an invalid metrics port or host is a usage error', async () => {
    const worker = ['worker', '--app', fixtureApp('basic')];
    for (const bad of ['abc', '70000', '-1', '1.5']) {
      const run = await taskman([...worker, '--metrics-port', bad], env);
      assert.equal(run.code, 2, `--metrics-port ${bad}`);
      assert.match(
        run.stderr,
        new RegExp(`--metrics-port must be a whole number from 0 to 65535, got "${bad.replace('.', '\\.')}"`),
      );
    }
    const hostAlone = await taskman([...worker, '--metrics-host', '0.0.0.0'], env);
    assert.equal(hostAlone.code, 2);
    assert.equal(hostAlone.stderr, 'taskman: --metrics-host needs --metrics-port.\n');
    const emptyHost = await taskman([...worker, '--metrics-port', '0', '--metrics-host', ' '], env);
    assert.equal(emptyHost.code, 2);
    assert.match(emptyHost.stderr, /--metrics-host must be an address or a host name/);
    const foreign = await taskman([...worker, '--metrics-port', '0', '--metrics-host', '192.0.2.1'], env);
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.match(
      foreign.stderr,
      /^taskman: --metrics-host 192\.0\.2\.1: not an address of this machine \(EADDRNOTAVAIL\)/,
    );
  });

  it("a database call that meets another session's lock is counted as a database error (conflict)", async () => {
    // Heartbeats every 3 s, each allowed 5 s: longer than the server's 3 s lock wait.
    const worker = await startWorker(env, ['--heartbeat-timeout', '15s']);
    const locker = await mysql.createConnection(connectionOptions(db.url));
    try {
      const [scheduler] = await waitFor('the worker to register', async () => {
        const schedulers = await db.taskman.listSchedulers();
        return schedulers.length === 1 ? schedulers : undefined;
      });
      await locker.query('START TRANSACTION');
      await locker.query('SELECT id FROM taskman_scheduler WHERE id = ? FOR UPDATE', [scheduler.id]);
      await waitFor(
        'a heartbeat to fail on the lock',
        async () =>
          (await Scrape.of(worker.url)).value('taskman_database_errors_total', 'counter', { kind: 'conflict' }) >= 1,
      );
      await locker.query('ROLLBACK');
      assert.equal(
        (await Scrape.of(worker.url)).value('taskman_database_errors_total', 'counter', { kind: 'unavailable' }),
        0,
        'a conflict is not an outage',
      );
    } finally {
      await locker.end();
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.output());
    }
  });

  it('--metrics-host 0.0.0.0, given explicitly, serves on every interface', async () => {
    const worker = await startWorker(env, ['--metrics-host', '0.0.0.0']);
    try {
      const port = /:(\d+)\/metrics$/.exec(worker.url)![1];
      assert.equal(worker.url, `http://0.0.0.0:${port}/metrics`);
      const scrape = await Scrape.of(`http://127.0.0.1:${port}/metrics`);
      assert.equal(scrape.value('taskman_slots_free', 'gauge'), 4);
    } finally {
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.output());
    }
  });
});
