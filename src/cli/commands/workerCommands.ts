import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { listApplicationTasks, loadApplicationConfig, SchedulerMetrics, sleep, stderrLogger } from '../../core';
import { connect, dataDir, globals, parse, printJson, UsageError } from '../context';
import { type MetricsServer, serveMetrics } from '../metricsServer';

function metricsHost(value: string): string {
  if (!value.trim())
    throw new InvalidArgumentError('--metrics-host must be an address or a host name, e.g. 127.0.0.1 or 0.0.0.0.');
  return value.trim();
}

export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('run a scheduler for an application until SIGINT/SIGTERM (graceful: running tasks may finish)')
    .option('--app <dir>', 'the application folder holding taskman.config.json', '.')
    .option(
      '--concurrency <n>',
      "tasks run at once (default: the config's concurrency)",
      parse.integer('--concurrency', 1, 1000),
    )
    .option(
      '--until-idle',
      'exit 0 once no task of the application is pending or running (or, paused, none is running)',
    )
    .option(
      '--poll-interval <duration>',
      'time between polls: the longest one wait inside the database lasts, and how often running tasks are checked for abort requests (default 300ms, jittered)',
      parse.duration('--poll-interval'),
    )
    .option(
      '--heartbeat-timeout <duration>',
      'a scheduler silent this long is dead (default 30s)',
      parse.duration('--heartbeat-timeout'),
    )
    .option(
      '--claim-ahead <duration>',
      'with short tasks, claim those expected to start within this long before a slot is free, so that each starts the moment one frees (default 50ms; 0 turns it off)',
      parse.duration('--claim-ahead'),
    )
    .option(
      '--shutdown-timeout <duration>',
      'on SIGINT/SIGTERM, how long running tasks may go on before they are aborted (default 30s)',
      parse.duration('--shutdown-timeout'),
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: a free port; the URL is logged on stderr)',
      parse.integer('--metrics-port', 0, 65535),
    )
    .option(
      '--metrics-host <address>',
      'the address to serve the metrics on (default 127.0.0.1, this machine only; 0.0.0.0: every interface, and the metrics have no authentication)',
      metricsHost,
    )
    .action(async (options, command: Command) => {
      const global = globals(command);
      if (options.metricsHost !== undefined && options.metricsPort === undefined)
        throw new UsageError('--metrics-host needs --metrics-port.');
      const app = loadApplicationConfig(path.resolve(options.app));
      if (options.concurrency) app.concurrency = options.concurrency;
      const logger = stderrLogger(global.verbose ? 'debug' : 'info', 'taskman worker');
      const taskman = await connect(global, { connectRetries: 10, logger });
      const heartbeatTimeoutMs: number | undefined = options.heartbeatTimeout;
      const scheduler = taskman.createScheduler({
        applications: [app],
        journalDir: path.join(dataDir(global), 'journal'),
        pollIntervalMs: options.pollInterval,
        heartbeatTimeoutMs,
        heartbeatIntervalMs: heartbeatTimeoutMs ? Math.max(100, Math.floor(heartbeatTimeoutMs / 5)) : undefined,
        shutdownTimeoutMs: options.shutdownTimeout,
        claimAheadMs: options.claimAhead,
        logger,
      });
      let metricsServer: MetricsServer | undefined;
      if (options.metricsPort !== undefined) {
        // Before the scheduler starts: a port in use stops the worker before it claims anything.
        metricsServer = await serveMetrics(
          new SchedulerMetrics(scheduler, taskman.database),
          options.metricsHost ?? '127.0.0.1',
          options.metricsPort,
        ).catch(async (error) => {
          await taskman.close();
          throw error;
        });
        logger.info(`metrics at ${metricsServer.url}`);
      }
      let stopping: Promise<void> | undefined;
      const stop = (why: string) => {
        if (stopping) {
          logger.warn(`${why} again: aborting running tasks now`);
          for (const id of scheduler.runningTaskIds()) scheduler.abortTask(id, 'scheduler shutting down');
          return stopping;
        }
        logger.info(`${why}: stopping gracefully (${scheduler.runningCount} running; again to abort them)`);
        stopping = taskman.close();
        return stopping;
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      try {
        await scheduler.start();
        if (options.untilIdle) {
          while (!stopping) {
            const unfinished = await taskman.countByState({ states: ['pending', 'running'], applications: [app.name] });
            if (scheduler.runningCount === 0 && unfinished.pending + unfinished.running === 0) {
              logger.info(`no ${app.name} task is pending or running: exiting`);
              await stop('idle');
              break;
            }
            // A paused application's pending tasks wait for a resume, not for this worker.
            const paused = async () =>
              (await taskman.pausedApplications()).some((pause) => pause.application === app.name);
            if (scheduler.runningCount === 0 && unfinished.running === 0 && (await paused())) {
              logger.info(`${app.name} is paused: its pending tasks wait for taskman resume ${app.name}; exiting`);
              await stop('idle');
              break;
            }
            await sleep(250);
          }
        }
        await new Promise<void>((resolve) => scheduler.once('stopped', () => resolve()));
        await stopping;
      } finally {
        // Served until the scheduler has stopped, so that a scrape sees the shutdown.
        await metricsServer?.close();
      }
    });

  program
    .command('tasks')
    .description("the application's exported task names (read in a child process)")
    .option('--app <dir>', 'the application folder holding taskman.config.json', '.')
    .option('--json', 'print a JSON array')
    .action(async (options) => {
      const app = loadApplicationConfig(path.resolve(options.app));
      const names = await listApplicationTasks(app);
      if (options.json) printJson(names);
      else process.stdout.write(names.length ? `${names.join('\n')}\n` : `${app.tasks} exports no functions\n`);
    });
}
