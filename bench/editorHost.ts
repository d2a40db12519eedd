import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeServerAvailable, launchBrowser, startCodeServer } from '../test/vscode/codeServer';
import { demoWorkspace } from '../test/vscode/uiSession';
import { openWorkbench } from '../test/vscode/workbench';
import { REPO_ROOT } from './lib/benchApp';
import { cpuSeconds } from './lib/cpu';
import type { BenchServer } from './lib/database';
import { round, type Table } from './lib/stats';
import { until } from './peers/system';

/** The processes below `root`, with their command lines. */
function descendants(root: number): { pid: number; cmdline: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: { pid: number; cmdline: string }[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      try {
        found.push({ pid: child, cmdline: fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ') });
      } catch {
        continue;
      }
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** The first line of a file under `dir` that matches `pattern`. */
function findLogLine(dir: string, pattern: RegExp): string | undefined {
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.log')) continue;
    const line = fs
      .readFileSync(path.join(entry.parentPath, entry.name), 'utf8')
      .split('\n')
      .find((text) => pattern.test(text));
    if (line) return line;
  }
  return undefined;
}

/**
 * The extension in code-server, as a user has it: the packaged .vsix, the demo workspace on a
 * fresh database, the workbench as it opens (the Tasks view not shown). Measured: its activation (its own `activated in` line), the
 * extension host's CPU while its embedded scheduler is idle, and while it runs `tasks` quick tasks
 * submitted at once by another client. A line saying why instead, without code-server.
 */
export async function editorBenchmark(
  server: BenchServer,
  options: { tasks: number; idleSeconds: number },
): Promise<Table | string> {
  const missing = codeServerAvailable();
  if (missing) return `editor skipped: ${missing}`;
  const vsix = path.join(REPO_ROOT, 'out', 'taskman-bench.vsix');
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package.mjs'), vsix], { stdio: 'ignore' });
  const db = await server.freshDatabase();
  const workspace = demoWorkspace(db.url);
  // The user's defaults, not the UI tests' quick refresh.
  fs.writeFileSync(
    path.join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'taskman.database.url': db.url }),
  );
  const codeServer = await startCodeServer({ workspace, trusted: true, installVsix: vsix });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await openWorkbench(page, codeServer.url, workspace);
    await until(
      'the embedded scheduler to register',
      async () => (await db.taskman.listSchedulers()).length === 1,
      120_000,
      200,
    );
    const activated = await waitForLine(codeServer.userDataDir, /Taskman activated in ([\d.]+) ms/);
    const host = descendants(codeServer.process.pid!).find((p) => p.cmdline.includes('extensionHost'));
    if (!host) throw new Error('No extension host process found under code-server.');
    // Past start-up: the first refreshes, the scheduler's first maintenance and its wait's back-off.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const idle = await cpuPercentOver(
      host.pid,
      () => new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000)),
    );
    const busy = await cpuPercentOver(host.pid, async () => {
      await db.taskman.submitMany(
        Array.from({ length: options.tasks }, (_, i) => ({
          application: 'demo',
          task: 'sendDigest',
          payload: { to: `user${i}` },
        })),
      );
      await until(
        `${options.tasks} tasks to end`,
        async () => {
          const [rows] = await db.sql.query('SELECT COUNT(*) AS n FROM taskman_task WHERE ended_at IS NOT NULL');
          return Number((rows as { n: number }[])[0].n) >= options.tasks;
        },
        600_000,
        500,
      );
    });
    return {
      title: `the editor: the extension in code-server ${codeServerVersion()}, the demo workspace`,
      columns: ['measure', 'value'],
      rows: [
        ['activation (its activate(), from its own log line)', `${round(Number(activated[1]), 1)} ms`],
        [`extension host CPU, scheduler idle (${options.idleSeconds} s)`, `${round(idle.percent, 2)} % of a core`],
        [
          `extension host CPU while ${options.tasks} tasks run (${round(busy.seconds, 1)} s)`,
          `${round(busy.percent, 1)} % of a core, ${round((busy.cpuSeconds * 1000) / options.tasks, 2)} ms per task`,
        ],
      ],
      notes: [
        `The packaged .vsix installed into code-server, opened in headless Chromium as it opens (the Explorer shown, the Tasks view not: it refreshes only while visible), with the settings' defaults. The ${options.tasks} tasks are the demo's \`sendDigest\` (returns at once), submitted by another client in one batch and run by the extension's embedded scheduler, a process per task, 4 at a time (the demo's concurrency); the runners' own CPU is not the extension host's.`,
      ],
    };
  } finally {
    await browser.close();
    await codeServer.stop();
    await db.drop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

async function waitForLine(dir: string, pattern: RegExp): Promise<RegExpExecArray> {
  let match: RegExpExecArray | null = null;
  await until(
    `a log line matching ${pattern}`,
    () => {
      match = pattern.exec(findLogLine(dir, pattern) ?? '');
      return match !== null;
    },
    60_000,
    200,
  );
  return match!;
}

async function cpuPercentOver(
  pid: number,
  body: () => Promise<unknown>,
): Promise<{ percent: number; seconds: number; cpuSeconds: number }> {
  const before = { cpu: cpuSeconds(pid), at: performance.now() };
  await body();
  const seconds = (performance.now() - before.at) / 1000;
  const used = cpuSeconds(pid) - before.cpu;
  return { percent: (used / seconds) * 100, seconds, cpuSeconds: used };
}

function codeServerVersion(): string {
  try {
    const file = path.join(REPO_ROOT, 'test', 'vscode', '.code-server', 'node_modules', 'code-server', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}
