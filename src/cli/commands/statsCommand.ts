import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatDuration, formatUtc, type Percentiles, type RecentTaskStatistics } from '../../core';
import { globals, parse, printJson, withTaskman } from '../context';
import { table } from '../format';

const IN_WORKERS_ONLY =
  'claims, claim conflicts, database errors and slots are counted inside each worker, not in the database: scrape `taskman worker --metrics-port`';

function windowDuration(value: string): number {
  const ms = parse.duration('--window')(value);
  if (ms <= 0) throw new InvalidArgumentError('--window must be longer than 0, e.g. 15m, 1h or 7d.');
  return ms;
}

/** `12ms`, `1.5s`, `2m30s`. */
function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return formatDuration(ms);
}

/** In seconds, to the microsecond the database keeps. */
function seconds(percentiles: Percentiles | undefined): { p50: number; p95: number } | null {
  const s = (ms: number) => Math.round(ms * 1000) / 1e6;
  return percentiles ? { p50: s(percentiles.p50), p95: s(percentiles.p95) } : null;
}

function statsJson(stats: RecentTaskStatistics, windowMs: number): Record<string, unknown> {
  return {
    source: 'database',
    window: {
      seconds: windowMs / 1000,
      since: stats.window.since.toISOString(),
      until: stats.window.until.toISOString(),
    },
    queue: stats.queue,
    ended: stats.ended.map((row) => ({
      application: row.application,
      task: row.task,
      state: row.state,
      count: row.count,
      timed: row.timed,
      wait_seconds: seconds(row.wait),
      run_seconds: seconds(row.run),
    })),
    sample_limit: stats.sampleLimit,
    not_in_database: IN_WORKERS_ONLY,
  };
}

function statsText(stats: RecentTaskStatistics, windowMs: number): string {
  const lines = ['Pending and running now (database, all applications):'];
  if (stats.queue.length === 0) lines.push('no task is pending or running');
  else
    lines.push(
      table(
        ['APPLICATION', 'STATE', 'TASKS'],
        stats.queue.map((row) => [row.application, row.state, String(row.count)]),
      ),
    );
  lines.push(
    '',
    `Ended in the last ${formatDuration(windowMs)} (${formatUtc(stats.window.since)} to ${formatUtc(stats.window.until)} UTC, database clock):`,
  );
  if (stats.ended.length === 0) lines.push('no task ended in this window');
  else {
    const time = (p: Percentiles | undefined, which: 'p50' | 'p95') => (p ? durationText(p[which]) : '');
    const rows = stats.ended.map((row) => [
      row.application,
      row.task,
      row.state,
      String(row.count),
      time(row.wait, 'p50'),
      time(row.wait, 'p95'),
      time(row.run, 'p50'),
      time(row.run, 'p95'),
    ]);
    lines.push(table(['APPLICATION', 'TASK', 'STATE', 'TASKS', 'WAIT P50', 'WAIT P95', 'RUN P50', 'RUN P95'], rows));
    const timed = stats.ended.reduce((sum, row) => sum + row.timed, 0);
    lines.push(
      '',
      `Wait: created (or run-after) to started; run: started to ended; of the ${timed} task(s) that had started, among the ${stats.sampleLimit} that ended last. Counts are of every task.`,
    );
  }
  lines.push('', `Not here: ${IN_WORKERS_ONLY}.`);
  return lines.join('\n');
}

export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description(
      "queue depth now, and the tasks that ended in a window with their wait and run times, from the database (every scheduler's tasks)",
    )
    .addOption(
      new Option('--window <duration>', 'how far back ended tasks are counted, on the database clock')
        .argParser(windowDuration)
        .default(3_600_000, '1h'),
    )
    .option('--json', 'print the numbers as JSON')
    .action(async (options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const stats = await taskman.recentStatistics({ windowMs: options.window });
        if (options.json) printJson(statsJson(stats, options.window));
        else process.stdout.write(`${statsText(stats, options.window)}\n`);
      });
    });
}
