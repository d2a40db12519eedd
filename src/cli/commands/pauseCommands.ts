import type { Command } from 'commander';
import { formatUtc, type PausedApplication } from '../../core';
import { globals, printJson, withTaskman } from '../context';

/** `since 2026-12-02 07:20:01 UTC: maintenance window`, the one line a paused application gets. */
export function pausedLine(pause: PausedApplication): string {
  const since = `${formatUtc(pause.pausedAt)} UTC`;
  return `application ${pause.application} is paused (since ${since}${pause.reason ? `: ${pause.reason}` : ''}): its tasks wait; taskman resume ${pause.application} runs them`;
}

export function registerPauseCommands(program: Command): void {
  program
    .command('pause')
    .description("stop every scheduler claiming an application's tasks (running ones go on; submitting still works)")
    .argument('<app>', 'application name (the "name" in its taskman.config.json)')
    .option('--reason <text>', 'why, shown with the pause')
    .option('--json', 'print the pause as JSON')
    .action(async (application: string, options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const pause = await taskman.pause(application, options.reason);
        if (options.json) printJson(pause);
        else process.stdout.write(`${pausedLine(pause)}\n`);
      });
    });

  program
    .command('resume')
    .description("let schedulers claim a paused application's tasks again, from their next poll")
    .argument('<app>', 'application name')
    .action(async (application: string, _options, command: Command) => {
      await withTaskman(globals(command), async (taskman) => {
        const resumed = await taskman.resume(application);
        process.stdout.write(
          resumed ? `application ${application} resumed\n` : `application ${application} was not paused\n`,
        );
      });
    });
}
