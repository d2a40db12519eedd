import * as path from 'node:path';
import type { Command } from 'commander';
import {
  isEnded,
  loadApplicationConfig,
  sleep,
  stderrLogger,
  stopEmbeddedServer,
  type Runtime,
  type Task,
  type Taskman,
} from '../../core';
import { connect, dataDir, globals } from '../context';
import { TASK_TABLE_HEADER, table, taskRows } from '../format';

const DEMO_APP = path.resolve(__dirname, '..', 'examples', 'demo');

/** The demo's task names are the Node demo's; examples/python-demo names them as Python does. */
function taskName(task: string, runtime: Runtime): string {
  return runtime === 'python' ? task.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) : task;
}

interface DemoTask {
  task: string;
  payload: unknown;
  what: string;
  startBefore?: string;
  runAfter?: string;
}

const DEMO_TASKS: DemoTask[] = [
  { task: 'generateReport', payload: { month: '2026-10', sections: 10 }, what: 'reports progress over a few seconds' },
  { task: 'importCustomers', payload: { file: 'customers.csv' }, what: 'fails half-way with a stack trace' },
  { task: 'rebuildSearchIndex', payload: { documents: 1000 }, what: 'is aborted mid-run by the demo' },
  {
    task: 'sendDigest',
    payload: { to: 'team@example.com' },
    runAfter: '4s',
    startBefore: '1s',
    what: 'has a deadline it cannot meet: expires unstarted',
  },
  { task: 'summarizeSales', payload: { year: 2026 }, what: 'returns a structured result' },
];

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the demo application on the embedded database: progress, a failure, an abort, an expiry and a result',
    )
    .option('--app <dir>', 'the demo application folder (examples/python-demo: the same demo in Python)', DEMO_APP)
    .action(async (options, command: Command) => {
      const global = globals(command);
      const out = process.stdout;
      out.write('Taskman demo\n\n');
      const began = performance.now();
      const taskman = await connect(global, {
        logger: stderrLogger(global.verbose ? 'debug' : 'warn', 'taskman demo'),
      });
      if (taskman.embedded) {
        out.write(
          taskman.embedded.startedNow
            ? `embedded database started in ${Math.round(taskman.embedded.startMs ?? 0)} ms: ${taskman.embedded.url}\n`
            : `embedded database already running: ${taskman.embedded.url}\n`,
        );
      } else {
        out.write(`database: ${taskman.database.describe()}\n`);
      }
      try {
        await runDemo(taskman, path.resolve(options.app), dataDir(global), global.verbose === true);
      } finally {
        await taskman.close();
        // Leave a server someone else started running; stop the one the demo started.
        if (taskman.embedded?.startedNow) {
          await stopEmbeddedServer({ dataDir: dataDir(global) });
          out.write('embedded database stopped\n');
        }
      }
      out.write(`\ndemo finished in ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
    });
}

async function runDemo(taskman: Taskman, appDir: string, data: string, verbose: boolean): Promise<void> {
  const out = process.stdout;
  const app = loadApplicationConfig(appDir);
  const scheduler = taskman.createScheduler({
    applications: [app],
    journalDir: path.join(data, 'journal'),
    pollIntervalMs: 200,
    heartbeatIntervalMs: 1000,
    abortGraceMs: 1000,
    logger: stderrLogger(verbose ? 'debug' : 'warn', 'scheduler'),
  });
  await scheduler.start();
  out.write(`scheduler ${scheduler.id} runs ${app.name}@${app.version} from ${app.root}\n\n`);
  const ids: string[] = [];
  for (const demo of DEMO_TASKS) {
    const { id } = await taskman.submit({
      application: app.name,
      task: taskName(demo.task, app.runtime),
      payload: demo.payload,
      startBefore: demo.startBefore,
      runAfter: demo.runAfter,
    });
    ids.push(id);
    out.write(`submitted task ${id}: ${taskName(demo.task, app.runtime)} — ${demo.what}\n`);
  }
  out.write('\n');
  const abortId = ids[DEMO_TASKS.findIndex((d) => d.task === 'rebuildSearchIndex')];
  let aborted = false;
  const live = process.stdout.isTTY === true;
  let drawnLines = 0;
  const seen = new Map<string, string>();
  let tasks: Task[] = [];
  for (;;) {
    tasks = await Promise.all(ids.map((id) => taskman.get(id)));
    const abortTarget = tasks.find((t) => t.id === abortId)!;
    if (!aborted && abortTarget.state === 'running' && (abortTarget.progress.percent ?? 0) >= 15) {
      await taskman.abort(abortId, 'the demo aborted it mid-run');
      aborted = true;
      if (!live) out.write(`aborting task ${abortId} at ${Math.round(abortTarget.progress.percent ?? 0)}%\n`);
    }
    if (live) {
      const text = table(TASK_TABLE_HEADER, taskRows(tasks, new Date()));
      out.write(`${drawnLines ? `\x1b[${drawnLines}A` : ''}\x1b[J${text}\n`);
      drawnLines = text.split('\n').length;
    } else {
      for (const task of tasks) {
        const line = `${task.state}${task.state === 'running' && task.progress.message ? ` (${task.progress.message})` : ''}`;
        if (seen.get(task.id) !== task.state) out.write(`task ${task.id} ${task.task}: ${line}\n`);
        seen.set(task.id, task.state);
      }
    }
    if (tasks.every((t) => isEnded(t.state))) break;
    await sleep(200);
  }
  await scheduler.stop();
  if (!live) out.write(`\n${table(TASK_TABLE_HEADER, taskRows(tasks, new Date()))}\n`);
  out.write('\nwhat happened:\n');
  for (const task of tasks) {
    let detail = '';
    if (task.state === 'succeeded') detail = `result ${JSON.stringify(task.result)}`;
    else if (task.error) detail = `${task.error.name}: ${task.error.message.split('\n')[0]}`;
    out.write(
      `  ${task.id} ${task.task} ${task.state}: ${detail.length > 160 ? `${detail.slice(0, 157)}...` : detail}\n`,
    );
  }
  const failed = tasks.find((t) => t.state === 'failed');
  if (failed?.error?.stack)
    out.write(
      `\nstack of the failed task ${failed.id}:\n${failed.error.stack
        .split('\n')
        .slice(0, 4)
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
    );
  out.write(`\nsee any task in full with: taskman show ID (from this checkout: node dist/cli.js show ID)\n`);
}
