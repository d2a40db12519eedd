import { execFile } from 'node:child_process';
import { type ApplicationConfig, interpreterOf } from '../config';
import { failure } from '../failures';
import { runnerEnvironment } from '../scheduler/runnerProcess';

/**
 * Why a Python application's tasks cannot be debugged here, or undefined when its interpreter
 * imports debugpy (with the runner's environment, so a virtualenv's own debugpy counts). Asked
 * before a debugged task is submitted, so that one clear message says what to install.
 */
export function whyNoDebugpy(app: ApplicationConfig): Promise<string | undefined> {
  const { command, field } = interpreterOf(app);
  return new Promise((resolve) => {
    execFile(
      command,
      [...app.execArgv, '-c', 'import debugpy'],
      { cwd: app.root, env: runnerEnvironment(app), timeout: 30_000 },
      (error) => {
        if (!error) return resolve(undefined);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          return resolve(`Could not start "${command}": it was not found. Check "${field}" in ${app.configFile}.`);
        resolve(failure('DebugpyMissing', command).message);
      },
    );
  });
}
