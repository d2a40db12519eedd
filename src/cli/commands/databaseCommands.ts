import type { Command } from 'commander';
import { embeddedServerStatus, ensureEmbeddedServer, migrate, SCHEMA_VERSION, stopEmbeddedServer } from '../../core';
import { connect, dataDir, globals, logger, printJson } from '../context';

export function registerDatabaseCommands(program: Command): void {
  const db = program
    .command('db')
    .description('the embedded database: a private MySQL-compatible server for this user');

  db.command('start')
    .description('start the embedded server (or report the one already running)')
    .option('--json', 'print the outcome as JSON')
    .action(async (options, command: Command) => {
      const global = globals(command);
      const server = await ensureEmbeddedServer({ dataDir: dataDir(global), logger: logger(global) });
      const result = {
        url: server.url,
        pid: server.pid,
        started: server.startedNow,
        start_ms: server.startMs === undefined ? null : Math.round(server.startMs),
        socket: server.paths.socket,
      };
      if (options.json) return printJson(result);
      process.stdout.write(
        server.startedNow
          ? `started in ${result.start_ms} ms (pid ${server.pid})\n${server.url}\n`
          : `already running (pid ${server.pid})\n${server.url}\n`,
      );
    });

  db.command('stop')
    .description('stop the embedded server')
    .action(async (_options, command: Command) => {
      const stopped = await stopEmbeddedServer({ dataDir: dataDir(globals(command)) });
      process.stdout.write(stopped ? 'stopped\n' : 'not running\n');
    });

  db.command('status')
    .description('whether the embedded server runs, its pid, socket and data folder')
    .option('--json', 'print the status as JSON')
    .action(async (options, command: Command) => {
      const status = await embeddedServerStatus({ dataDir: dataDir(globals(command)) });
      if (options.json) return printJson(status);
      process.stdout.write(
        `${status.running ? `running (pid ${status.pid})` : 'not running'}\nsocket:    ${status.socket}\ndata:      ${status.dataDir}${status.initialized ? '' : ' (not initialised yet)'}\n`,
      );
    });

  db.command('url')
    .description('the URL of the embedded database, for TASKMAN_DATABASE_URL or other tools')
    .action(async (_options, command: Command) => {
      const server = await ensureEmbeddedServer({
        dataDir: dataDir(globals(command)),
        logger: logger(globals(command)),
      });
      process.stdout.write(`${server.url}\n`);
    });

  program
    .command('migrate')
    .description(`bring the database schema up to version ${SCHEMA_VERSION}`)
    .action(async (_options, command: Command) => {
      const taskman = await connect(globals(command), { migrate: false });
      try {
        const { from, to } = await migrate(taskman.database);
        process.stdout.write(
          from === to ? `schema already at version ${to}\n` : `schema migrated from version ${from} to ${to}\n`,
        );
      } finally {
        await taskman.close();
      }
    });
}
