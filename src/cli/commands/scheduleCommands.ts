import * as path from 'node:path';
import type { Command } from 'commander';
import { formatUtc, type LatestTick, loadApplicationConfig, nextTicks, type Schedule } from '../../core';
import { globals, printJson, withTaskman } from '../context';
import { table } from '../format';

const NEXT_RUNS = 3;

export function registerScheduleCommands(program: Command): void {
  program
    .command('schedules')
    .description("the application's recurring schedules: next runs, last tick and its task; exit 1 if one is invalid")
    .option('--app <dir>', 'the application folder holding taskman.config.json', '.')
    .option(
      '--json',
      'print JSON: the schedules with their next runs and last tick, and the invalid ones as "problems"',
    )
    .action(async (options, command: Command) => {
      const app = loadApplicationConfig(path.resolve(options.app));
      await withTaskman(globals(command), async (taskman) => {
        const latest = await taskman.latestTicks(app.name);
        const now = new Date();
        if (options.json) {
          printJson({
            application: app.name,
            schedules: app.schedules.map((s) => scheduleJson(s, latest.get(s.name), now)),
            problems: app.scheduleProblems,
          });
        } else if (app.schedules.length === 0 && app.scheduleProblems.length === 0) {
          process.stdout.write(`${app.name} has no schedules ("schedules" in ${app.configFile})\n`);
        } else if (app.schedules.length > 0) {
          const rows = app.schedules.map((s) => {
            const last = latest.get(s.name);
            return [
              s.name,
              s.cron,
              s.timezone,
              s.task,
              nextTicks(s, now, NEXT_RUNS).map(formatUtc).join(', '),
              last ? `${formatUtc(last.tickAt)} → #${last.taskId} ${last.state ?? 'purged'}` : 'none yet',
            ];
          });
          const header = [
            'SCHEDULE',
            'CRON',
            'TIME ZONE',
            'TASK',
            `NEXT ${NEXT_RUNS} RUNS (UTC)`,
            'LAST TICK (UTC) → TASK',
          ];
          process.stdout.write(`${table(header, rows)}\n`);
        }
        for (const problem of app.scheduleProblems) {
          const where = `${problem.schedule}${problem.field ? `.${problem.field}` : ''}`;
          process.stderr.write(`${app.configFile}: ${where} ${problem.message}; it does not run\n`);
        }
        if (app.scheduleProblems.length > 0) process.exitCode = 1;
      });
    });
}

function scheduleJson(schedule: Schedule, last: LatestTick | undefined, now: Date): Record<string, unknown> {
  return {
    ...schedule,
    next_runs: nextTicks(schedule, now, NEXT_RUNS).map((d) => d.toISOString()),
    last_tick: last ? { tick_at: last.tickAt.toISOString(), task: last.taskId, state: last.state } : null,
  };
}
