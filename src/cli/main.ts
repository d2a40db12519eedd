/**
 * `taskman`: the headless front end of the engine — worker daemons on servers, scripting, CI.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { registerDatabaseCommands } from './commands/databaseCommands';
import { registerDemoCommand } from './commands/demoCommand';
import { registerPauseCommands } from './commands/pauseCommands';
import { registerScheduleCommands } from './commands/scheduleCommands';
import { registerStatsCommand } from './commands/statsCommand';
import { registerTaskCommands } from './commands/taskCommands';
import { registerWorkerCommands } from './commands/workerCommands';
import { exitCodeFor } from './context';

declare const TASKMAN_VERSION: string;

function buildProgram(): Command {
  const program = new Command('taskman')
    .description('Run long tasks reliably from MySQL: never lost, never run twice.')
    .version(typeof TASKMAN_VERSION === 'string' ? TASKMAN_VERSION : 'dev', '-V', "print Taskman's version")
    .option(
      '--database <url>',
      'mysql://user:password@host:3306/database (or ?socket=/path), TLS with ?ssl-mode=disabled|preferred|required|verify-ca|verify-identity&ssl-ca=PATH&ssl-cert=PATH&ssl-key=PATH (default verify-identity off loopback); default: TASKMAN_DATABASE_URL, else the embedded server',
    )
    .option(
      '--data-dir <dir>',
      "Taskman's data folder (embedded server, journal); default: TASKMAN_DATA_DIR or the platform's data folder",
    )
    .addOption(new Option('--table-prefix <prefix>', "prefix of Taskman's tables").default(undefined, 'taskman_'))
    .option('-v, --verbose', 'log what happens, and show stack traces of errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'taskman: ')) });
  registerDatabaseCommands(program);
  registerWorkerCommands(program);
  registerTaskCommands(program);
  registerPauseCommands(program);
  registerScheduleCommands(program);
  registerStatsCommand(program);
  registerDemoCommand(program);
  // Subcommands inherit the program's error handling: usage errors are thrown, not printed-and-exited.
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; everything else Commander reports is a usage error.
      process.exitCode =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
          ? 0
          : 2;
      return;
    }
    const code = exitCodeFor(error);
    process.stderr.write(
      `taskman: ${verbose && error instanceof Error && error.stack ? error.stack : ((error as Error).message ?? String(error))}\n`,
    );
    if (verbose && error instanceof Error && error.cause instanceof Error)
      process.stderr.write(`caused by: ${error.cause.stack}\n`);
    process.exitCode = code;
  }
}

void main(process.argv);
