// A scheduler in its own process, for tests that kill, stop or race schedulers.
//   node --import tsx test/helpers/schedulerProcess.ts   (config in TASKMAN_TEST_SCHEDULER as JSON)
import * as path from 'node:path';
import { loadApplicationConfig, stderrLogger, Taskman } from '../../src/core';
import { fixtureApp, runnerScript } from './database';
import { FAST_TIMINGS } from './scheduler';

interface Config {
  url: string;
  /** Fixture names, or absolute paths of application folders. */
  apps: string[];
  journalDir: string;
  options?: Record<string, unknown>;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.TASKMAN_TEST_SCHEDULER ?? '{}') as Config;
  const taskman = await Taskman.connect({ url: config.url, migrate: true, connectRetries: 20 });
  const scheduler = taskman.createScheduler({
    applications: config.apps.map((app) => loadApplicationConfig(path.isAbsolute(app) ? app : fixtureApp(app))),
    journalDir: config.journalDir,
    runnerScript,
    logger: stderrLogger(
      process.env.TASKMAN_TEST_LOG === 'debug' || process.env.TASKMAN_TEST_LOG === 'info'
        ? process.env.TASKMAN_TEST_LOG
        : 'warn',
      `scheduler[${process.pid}]`,
    ),
    ...FAST_TIMINGS,
    ...config.options,
  });
  scheduler.on('registered', (id) => process.stdout.write(`registered ${id}\n`));
  scheduler.on('task-ended', (id, state) => process.stdout.write(`ended ${id} ${state}\n`));
  await scheduler.start();
  const stop = async () => {
    await taskman.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error) => {
  process.stderr.write(`scheduler process failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
