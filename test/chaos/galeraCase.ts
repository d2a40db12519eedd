import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { Taskman } from '../../src/core';
import { connectionOptions, fixtureApp, repoRoot } from '../helpers/database';
import { GaleraCluster, galeraAvailable } from '../helpers/galeraCluster';
import { type SchedulerProcess, spawnScheduler, waitForRegistration } from '../helpers/processes';
import { type ChaosContext, executions, type Profile, type Row, waitUntil } from './context';

const APP = 'fixture-basic';
/** An application with a per-second schedule, served by every node's scheduler: its ticks race across nodes. */
const SCHEDULED = 'chaos-galera-scheduled';
const DATABASE = 'chaos_galera';
const KILLED = 2;
const CONCURRENCY = 3;
const EXPECTED =
  '3-node Galera, a scheduler per node, node 2 killed mid-run: 0 ran twice, 0 unfinished, lost ≤ 3, conflicts never logged as unreachable; a per-second schedule on all three: one task per tick';

type Rows = Record<string, unknown>[];

/** A node's URL for the case's database (the harness's URLs name 'taskman'). */
function databaseUrl(url: string): string {
  return url.replace(/\/taskman(?=\?|$)/, `/${DATABASE}`);
}

/** A checking connection whose reads wait until the node has applied every earlier commit of the cluster. */
async function checker(options: mysql.ConnectionOptions): Promise<mysql.Connection> {
  const connection = await mysql.createConnection(options);
  connection.on('error', () => {});
  await connection.query('SET SESSION wsrep_sync_wait = 15');
  return connection;
}

/** Certification failures plus brute-force aborts, summed over `indexes` (server counters). */
async function certificationConflicts(cluster: GaleraCluster, indexes: number[]): Promise<number> {
  let sum = 0;
  for (const i of indexes) {
    const s = await cluster.status(i);
    sum += Number(s.wsrep_local_cert_failures ?? 0) + Number(s.wsrep_local_bf_aborts ?? 0);
  }
  return sum;
}

/** Writes each scheduler's stderr (and the lost tasks) to a folder, for a miss to be looked into. */
function keepLogs(schedulers: SchedulerProcess[], lostRows: Rows): string {
  const dir = process.env.TASKMAN_CHAOS_LOGS || fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-galera-'));
  fs.mkdirSync(dir, { recursive: true });
  schedulers.forEach((s, i) => {
    fs.writeFileSync(path.join(dir, `scheduler-node${i}.log`), `${s.stderr()}\n--- stdout\n${s.lines.join('\n')}\n`);
  });
  fs.writeFileSync(path.join(dir, 'lost.json'), JSON.stringify(lostRows, null, 2));
  return dir;
}

/** An application folder whose one schedule ticks every second with a no-op task. */
function scheduledApp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-chaos-galera-app-'));
  const config = {
    name: SCHEDULED,
    version: '1.0.0',
    tasks: path.join(fixtureApp('basic'), 'tasks.js'),
    modulePaths: [path.join(repoRoot, 'node_modules')],
    schedules: [{ name: 'every-second', cron: '* * * * * *', task: 'echo' }],
  };
  fs.writeFileSync(path.join(dir, 'taskman.config.json'), JSON.stringify(config));
  return dir;
}

/**
 * Exactly-once on a multi-primary server: three Galera nodes, a scheduler process connected to
 * each, one node SIGKILLed once about a third of the tasks ran. Task bodies record their runs on
 * node 0 (never killed), so the side table counts every execution exactly.
 */
export async function galera(_ctx: ChaosContext, profile: Profile): Promise<Row> {
  const available = galeraAvailable();
  // CI installs galera-4: a machine that cannot run the cluster is a miss, not a skip.
  if (!available.ok)
    return { case: 'galera', expected: EXPECTED, observed: `not run: ${available.why}`, figures: '', ok: false };
  const total = profile.name === 'small' ? 90 : 300;
  const began = performance.now();
  let cluster: GaleraCluster | undefined;
  let taskman: Taskman | undefined;
  const connections: mysql.Connection[] = [];
  const schedulers: SchedulerProcess[] = [];
  const scheduled = scheduledApp();
  try {
    cluster = await GaleraCluster.start();
    const startSeconds = (performance.now() - began) / 1000;
    const urls = cluster.nodes.map((node) => databaseUrl(node.url));
    const admin = await checker(connectionOptions(cluster.nodes[0].url) as mysql.ConnectionOptions);
    connections.push(admin);
    await admin.query(`CREATE DATABASE \`${DATABASE}\``);
    await admin.changeUser({ database: DATABASE });
    await admin.query('SET SESSION wsrep_sync_wait = 15');
    await admin.query('CREATE TABLE executions (task_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)');
    const sql = admin; // node 0: the executions are written there, the counts read there

    taskman = await Taskman.connect({ url: urls[0], connectRetries: 20 });
    const payload = { connection: connectionOptions(urls[0]), table: 'executions' };
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      // Mostly 300 ms, some shorter and longer: claims and outcomes of the three schedulers interleave.
      const ms = [300, 300, 150, 600][i % 4];
      ids.push((await taskman.submit({ application: APP, task: 'recordThenSleep', payload: { ...payload, ms } })).id);
    }
    // Every node has the schema and the tasks before its scheduler starts (sync wait: no lag).
    for (let i = 1; i < cluster.nodes.length; i++) {
      const c = await checker(connectionOptions(urls[i]) as mysql.ConnectionOptions);
      try {
        const [[row]] = (await c.query("SELECT COUNT(*) AS n FROM taskman_task WHERE state = 'pending'")) as never as [
          [{ n: number }],
        ];
        if (Number(row.n) !== total) throw new Error(`node ${i} sees ${row.n} pending tasks of ${total}`);
      } finally {
        c.destroy();
      }
    }
    const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== KILLED);
    const conflictsBefore = await certificationConflicts(cluster, survivors);

    // Debug level: the engine logs conflicts it retries at debug ("retrying after a conflict").
    const savedLog = process.env.TASKMAN_TEST_LOG;
    process.env.TASKMAN_TEST_LOG = 'debug';
    try {
      for (const url of urls) {
        schedulers.push(
          spawnScheduler(url, ['basic', scheduled], {
            concurrency: CONCURRENCY,
            heartbeatTimeoutMs: 5000,
            heartbeatIntervalMs: 500,
            pollIntervalMs: 100,
          }),
        );
      }
    } finally {
      if (savedLog === undefined) delete process.env.TASKMAN_TEST_LOG;
      else process.env.TASKMAN_TEST_LOG = savedLog;
    }
    await Promise.all(schedulers.map((s) => waitForRegistration(s)));
    const runBegan = performance.now();

    await waitUntil(
      'a third of the tasks to run',
      async () => (await executions(sql)).tasks >= Math.ceil(total / 3),
      180_000,
    );
    const killedSchedulerIds = schedulers[KILLED].schedulerIds();
    const [runningOnKilled] = (await sql.query(
      `SELECT COUNT(*) AS n FROM taskman_task WHERE state = 'running' AND started_at IS NOT NULL AND scheduler_id IN (${killedSchedulerIds.map(() => '?').join(', ')})`,
      killedSchedulerIds,
    )) as never as [{ n: number }[]];
    const atKill = (await executions(sql)).tasks;
    const killBegan = performance.now();
    await cluster.kill(KILLED, 60_000);
    const killMs = performance.now() - killBegan;

    // Bounded: on timeout the counts below say what was left, and the logs are kept.
    const settleMs = await waitUntil(
      'no task pending or running (through node 0)',
      async () => {
        const c = await taskman!.countByState({ applications: [APP] });
        return c.pending + c.running === 0;
      },
      120_000,
    ).then(
      (ms) => ms + killMs,
      () => NaN,
    );
    const runSeconds = (performance.now() - runBegan) / 1000;

    // The counts, from node 0 with wsrep_sync_wait: every commit of the surviving nodes applied.
    const [stateRows] = (await sql.query(
      'SELECT state, COUNT(*) AS n FROM taskman_task WHERE application = ? GROUP BY state',
      [APP],
    )) as never as [{ state: string; n: number }[]];
    const byState: Record<string, number> = Object.fromEntries(stateRows.map((r) => [r.state, Number(r.n)]));
    const count = (state: string) => byState[state] ?? 0;
    const seen = await executions(sql);
    const [[neverRan]] = (await sql.query(
      "SELECT COUNT(*) AS n FROM taskman_task t LEFT JOIN executions e ON e.task_id = t.id WHERE t.application = ? AND t.state = 'succeeded' AND e.task_id IS NULL",
      [APP],
    )) as never as [[{ n: number }]];
    const [lostRows] = (await sql.query(
      "SELECT t.id, t.scheduler_id, e.runs FROM taskman_task t LEFT JOIN executions e ON e.task_id = t.id WHERE t.application = ? AND t.state = 'lost'",
      [APP],
    )) as never as [Rows];
    const lostElsewhere = lostRows.filter((r) => !killedSchedulerIds.includes(String(r.scheduler_id))).length;
    const [others] = (await sql.query(
      "SELECT state, COUNT(*) AS n, MIN(error) AS error FROM taskman_task WHERE application = ? AND state NOT IN ('succeeded', 'lost') GROUP BY state",
      [APP],
    )) as never as [{ state: string; n: number; error: string | null }[]];
    const notSucceeded = others.map((r) => `${r.state} ${r.n}${r.error ? ` (${String(r.error).slice(0, 200)})` : ''}`);
    const conflictsServer = (await certificationConflicts(cluster, survivors)) - conflictsBefore;
    const ticks = await scheduleTicks(sql);

    // What the schedulers of the surviving nodes said: a conflict is never an unreachable server.
    const lines = survivors.flatMap((i) => schedulers[i].stderr().split('\n'));
    const conflictLines = lines.filter((l) => /conflict|certification/i.test(l)).length;
    const unreachableLines = lines.filter((l) => /Cannot reach MySQL/.test(l));
    const conflictAsUnreachable = unreachableLines.filter((l) =>
      /conflict|certification|deadlock|ER_LOCK_DEADLOCK|1213/i.test(l),
    ).length;
    const otherUnavailable = lines.filter(
      (l) => /database unavailable/.test(l) && !/Cannot reach MySQL/.test(l),
    ).length;
    const survivorsDied = survivors.filter(
      (i) => schedulers[i].child.exitCode !== null || schedulers[i].child.signalCode !== null,
    ).length;
    const ranBy = survivors.map((i) => schedulers[i].lines.filter((l) => l.startsWith('ended ')).length);

    const unfinished = count('pending') + count('running');
    const lost = count('lost');
    const ok =
      seen.duplicated === 0 &&
      Number(neverRan.n) === 0 &&
      unfinished === 0 &&
      lost <= CONCURRENCY &&
      lostElsewhere === 0 &&
      count('succeeded') + lost === total &&
      ticks.made > 0 &&
      ticks.tasks === ticks.made &&
      ticks.orphans === 0 &&
      unreachableLines.length === 0 &&
      survivorsDied === 0;
    const logs = ok && !process.env.TASKMAN_CHAOS_LOGS ? '' : keepLogs(schedulers, lostRows);
    return {
      case: 'galera',
      expected: EXPECTED,
      observed:
        `${seen.duplicated} ran twice, ${neverRan.n} succeeded never ran, ${unfinished} unfinished, ${lost} lost (${lostElsewhere} not node ${KILLED}'s; ${runningOnKilled[0].n} running there at the kill), ` +
        `${unreachableLines.length} "Cannot reach MySQL" on surviving nodes (${conflictAsUnreachable} conflicts), ${survivorsDied} surviving schedulers died${notSucceeded.length ? `; ${notSucceeded.join('; ')}` : ''}${logs ? `; logs in ${logs}` : ''}`,
      figures:
        `${total} tasks, node ${KILLED} killed after ${atKill} ran (kill seen by survivors in ${(killMs / 1000).toFixed(1)} s), ${Number.isNaN(settleMs) ? 'NOT settled within 120 s' : `settled ${(settleMs / 1000).toFixed(1)} s`} after the kill, run ${runSeconds.toFixed(1)} s, cluster start ${startSeconds.toFixed(1)} s; ` +
        `certification conflicts: ${conflictsServer} server-side (cert failures + BF aborts on surviving nodes), ${conflictLines} log lines, ${otherUnavailable} other "unavailable" lines; ` +
        `succeeded ${count('succeeded')}, failed ${count('failed')}, lost ${lost}; ended by surviving schedulers ${ranBy.join(' + ')}; ${seen.runs} executions; ` +
        `schedule: ${ticks.made} ticks, ${ticks.tasks} tasks (${ticks.orphans} without a tick), ${ticks.gaps} gap(s) of missed ticks`,
      ok,
    };
  } finally {
    for (const s of schedulers) s.child.kill('SIGKILL');
    await taskman?.close().catch(() => undefined);
    for (const c of connections) c.destroy();
    await cluster?.stop();
    fs.rmSync(scheduled, { recursive: true, force: true });
  }
}

/** The per-second schedule's ticks and tasks, read on node 0 with the sync wait. */
async function scheduleTicks(
  sql: mysql.Connection,
): Promise<{ made: number; tasks: number; orphans: number; gaps: number }> {
  const [ticks] = (await sql.query(
    'SELECT tick_at, task_id FROM taskman_schedule_tick WHERE application = ? ORDER BY tick_at',
    [SCHEDULED],
  )) as never as [{ tick_at: Date; task_id: string }[]];
  const [tasks] = (await sql.query('SELECT id FROM taskman_task WHERE application = ?', [SCHEDULED])) as never as [
    { id: string }[],
  ];
  const tickTasks = new Set(ticks.map((tick) => String(tick.task_id)));
  const at = ticks.map((tick) => tick.tick_at.getTime());
  return {
    made: ticks.length,
    tasks: tasks.length,
    orphans: tasks.filter((task) => !tickTasks.has(String(task.id))).length,
    gaps: at.slice(1).filter((t, i) => t - at[i] !== 1000).length,
  };
}
