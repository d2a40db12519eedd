/**
 * `npm run bench`: every benchmark, each against its baseline measured in this run, printed as
 * tables and (full runs only) written to bench/RESULTS.md with the machine, the date and the command.
 *
 *   npm run bench                         all benchmarks, full sizes (about 25 minutes here)
 *   npm run bench -- --quick              smaller sizes (scale to 10^5), for a quick look
 *   npm run bench -- --only claim,idle    some of: claim, claim-keys, dashboard, end-to-end, far, idle, scale, spawn, tasks-view, galera, editor
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { claimBenchmark } from './claim';
import { claimKeysBenchmark } from './claimKeys';
import { dashboardBenchmark } from './dashboard';
import { tasksViewBenchmark } from './editor';
import { editorBenchmark } from './editorHost';
import { endToEndBenchmark } from './endToEnd';
import { farBenchmark } from './far';
import { galeraBenchmark } from './galera';
import { idleBenchmark } from './idle';
import { BenchServer } from './lib/database';
import { formatTable, type Table } from './lib/stats';
import { scaleBenchmark } from './scale';
import { spawnBenchmark } from './spawn';

const BENCHMARKS = [
  'claim',
  'claim-keys',
  'end-to-end',
  'far',
  'galera',
  'idle',
  'scale',
  'dashboard',
  'tasks-view',
  'editor',
  'spawn',
] as const;
type BenchmarkName = (typeof BENCHMARKS)[number];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench [-- --quick] [-- --only ${BENCHMARKS.join(',')}]`);
    return;
  }
  const only = values.only ? values.only.split(',').map((name) => name.trim()) : [...BENCHMARKS];
  const unknown = only.filter((name) => !BENCHMARKS.includes(name as BenchmarkName));
  if (unknown.length) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Choose from: ${BENCHMARKS.join(', ')}.`);
    process.exitCode = 2;
    return;
  }
  const quick = values.quick;
  const server = await BenchServer.start();
  const tables: Table[] = [];
  const skipped: string[] = [];
  const show = (table: Table) => {
    tables.push(table);
    console.log(`\n${formatTable(table)}`);
  };
  /**
   * A benchmark that needs more than the machine may have (Galera, code-server): its line saying
   * why it did not run, or its failure, is recorded with the run's skipped ones, and the run goes on.
   */
  const optional = async (name: string, run: () => Promise<Table | string>) => {
    try {
      const result = await run();
      if (typeof result === 'string') {
        console.log(result);
        skipped.push(result);
      } else show(result);
    } catch (error) {
      const line = `${name} failed: ${(error as Error).message.split('\n')[0]}`;
      console.log(line);
      skipped.push(line);
    }
  };
  try {
    const mysqlVersion = await server.version();
    console.log(`MySQL server: ${mysqlVersion}`);
    if (only.includes('claim')) show(await claimBenchmark(server, { tasks: quick ? 1000 : 4000 }));
    if (only.includes('claim-keys')) show(await claimKeysBenchmark(server, { tasks: quick ? 1000 : 4000 }));
    if (only.includes('end-to-end')) {
      const result = await endToEndBenchmark(server, {
        concurrency: 8,
        tasks: quick
          ? { processPerTask: 80, pooled: 1000, peers: 1000 }
          : { processPerTask: 300, pooled: 5000, peers: 5000 },
        pickups: quick ? 20 : 100,
        runnerModes: ['process', 'pooled'],
      });
      for (const line of result.skipped) console.log(line);
      skipped.push(...result.skipped);
      result.tables.forEach(show);
    }
    if (only.includes('far'))
      show(
        await farBenchmark(server, {
          roundTripMs: 50,
          concurrency: 8,
          tasks: quick ? 24 : 64,
          taskMs: 1000,
          pickups: quick ? 10 : 30,
        }),
      );
    if (only.includes('galera'))
      await optional('galera', () => galeraBenchmark({ schedulers: 3, concurrency: 8, tasks: quick ? 1000 : 3000 }));
    if (only.includes('idle'))
      show(
        await idleBenchmark(server, {
          seconds: quick ? 10 : 30,
          warmupSeconds: 60,
          fleets: quick ? [1, 10] : [1, 50],
        }),
      );
    if (only.includes('scale'))
      show(
        await scaleBenchmark(server, {
          sizes: quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000],
          samples: quick ? 15 : 40,
        }),
      );
    if (only.includes('dashboard'))
      show(await dashboardBenchmark(server, { rows: quick ? 100_000 : 1_000_000, samples: quick ? 5 : 15 }));
    if (only.includes('tasks-view'))
      show(await tasksViewBenchmark(server, { ended: 95_000, pending: 5_000, samples: quick ? 5 : 15 }));
    if (only.includes('editor'))
      await optional('editor', () => editorBenchmark(server, { tasks: 500, idleSeconds: quick ? 10 : 30 }));
    if (only.includes('spawn')) show(await spawnBenchmark({ runs: quick ? 10 : 30 }));
    // bench/RESULTS.md is the record of a full run; a partial one only prints.
    if (!quick && !values.only) writeResults({ tables, skipped, mysqlVersion, command: 'npm run bench' });
    else console.log('\nbench/RESULTS.md not written: --quick and --only runs only print their tables.');
  } finally {
    await server.stop();
  }
}

/** The hand-kept last section of RESULTS.md: designs measured once and not kept. */
const KEPT_BY_HAND = '## Measured and not kept';

/** That section as the file has it now, so that a full run carries it over instead of dropping it. */
function keptByHand(file: string): string[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = text.indexOf(`\n${KEPT_BY_HAND}\n`);
  if (at < 0) return [];
  return text
    .slice(at + 1)
    .trimEnd()
    .split('\n');
}

function writeResults(run: { tables: Table[]; skipped: string[]; mysqlVersion: string; command: string }): void {
  const file = path.join(__dirname, 'RESULTS.md');
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`${run.command}\` on ${new Date().toISOString().slice(0, 10)}. Every ratio compares with a baseline measured in the same run.`,
    '',
    '## Machine',
    '',
    `- ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; MySQL server ${run.mysqlVersion} (private server from the machine's binary, default durable settings)`,
    `- Peers: ${peerVersions()}`,
    ...run.skipped.map((line) => `- ${line}`),
    '',
    '## Results',
    '',
    ...run.tables.map(formatTable),
    ...keptByHand(file),
  ];
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

function peerVersions(): string {
  const version = (name: string) => {
    try {
      return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string })
        .version;
    } catch {
      return 'not installed';
    }
  };
  const server = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return `graphile-worker ${version('graphile-worker')} on ${server('psql', ['--version'])} server at 127.0.0.1:5432; bullmq ${version('bullmq')} on ${server('redis-server', ['--version'])}`;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
