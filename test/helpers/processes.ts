import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './database';
import { waitFor } from './wait';

export interface SchedulerProcess {
  child: ChildProcess;
  /** Every line it printed on stdout so far. */
  lines: string[];
  /** Its scheduler ids, in registration order (a fenced scheduler registers again). */
  schedulerIds(): string[];
  exited: Promise<number | null>;
  stderr(): string;
}

export function spawnScheduler(
  url: string,
  apps: string[],
  options: Record<string, unknown> = {},
  journalDir?: string,
  extraEnv: Record<string, string> = {},
): SchedulerProcess {
  const dir = journalDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', 'schedulerProcess.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...extraEnv,
        TASKMAN_TEST_SCHEDULER: JSON.stringify({ url, apps, journalDir: dir, options }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    schedulerIds: () => lines.filter((line) => line.startsWith('registered ')).map((line) => line.slice(11)),
  };
}

export async function waitForRegistration(process: SchedulerProcess, count = 1): Promise<string> {
  await waitFor(
    `scheduler process ${process.child.pid} to register${count > 1 ? ` ${count} times` : ''}`,
    () => process.schedulerIds().length >= count || process.child.exitCode !== null,
    { timeoutMs: 30_000 },
  );
  if (process.schedulerIds().length < count) throw new Error(`scheduler process exited early:\n${process.stderr()}`);
  return process.schedulerIds()[count - 1];
}

/** The runner processes (dist/runner.js) whose parent is this process, by pid: read from /proc. */
export function childRunnerPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid !== process.pid) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (command.includes('runner.js') || command.includes('runner.py')) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids.sort((a, b) => a - b);
}
