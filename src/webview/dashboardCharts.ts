import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LogarithmicScale,
  Tooltip,
} from 'chart.js';
import { type DashboardData, ENDED_STATE_ORDER, type EndedStateName } from './dashboardMessages';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Legend, Tooltip);

/** Colours from VS Code's theme, read again when the theme changes, so the charts read in light and dark themes. */
export interface Palette {
  foreground: string;
  lines: string;
  states: Record<EndedStateName | 'pending' | 'running', string>;
  p50: string;
  p95: string;
  failure: string;
  free: string;
}

export function themePalette(): Palette {
  const style = getComputedStyle(document.documentElement);
  const variable = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const foreground = variable('--vscode-charts-foreground', variable('--vscode-foreground', '#888'));
  const lines = variable('--vscode-charts-lines', '#8884');
  return {
    foreground,
    lines,
    states: {
      succeeded: variable('--vscode-charts-green', '#89d185'),
      failed: variable('--vscode-charts-red', '#f14c4c'),
      aborted: variable('--vscode-charts-orange', '#d18616'),
      lost: variable('--vscode-charts-purple', '#b180d7'),
      expired: variable('--vscode-descriptionForeground', '#999'),
      skipped: variable('--vscode-disabledForeground', '#777'),
      pending: variable('--vscode-charts-yellow', '#cca700'),
      running: variable('--vscode-charts-blue', '#3794ff'),
    },
    p50: variable('--vscode-charts-blue', '#3794ff'),
    p95: variable('--vscode-charts-purple', '#b180d7'),
    failure: variable('--vscode-charts-red', '#f14c4c'),
    free: lines,
  };
}

export type ChartName = 'ended' | 'queue' | 'schedulers' | 'wait' | 'run' | 'failures';

/** Chart.js configurations for one set of statistics; each chart's labels say what its bars are. */
export function chartConfigs(data: DashboardData, palette: Palette): Record<ChartName, ChartConfiguration<'bar'>> {
  const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const base = (horizontal: boolean, legend: boolean): ChartConfiguration<'bar'>['options'] => ({
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    indexAxis: horizontal ? 'y' : 'x',
    color: palette.foreground,
    borderColor: palette.lines,
    plugins: { legend: { display: legend, labels: { color: palette.foreground, boxWidth: 12 } } },
  });
  const axis = (extra: Record<string, unknown> = {}) => ({
    grid: { color: palette.lines },
    ticks: { color: palette.foreground },
    ...extra,
  });
  /** A category axis that names every bar (Chart.js would skip labels it finds crowded). */
  const every = (extra: Record<string, unknown> = {}) =>
    axis({ ticks: { color: palette.foreground, autoSkip: false }, ...extra });
  const timed = data.tasks.filter((entry) => entry.wait && entry.run);
  const timing = (kind: 'wait' | 'run'): ChartConfiguration<'bar'> => ({
    type: 'bar',
    data: {
      labels: timed.map((entry) => entry.label),
      datasets: [
        { label: 'p50', data: timed.map((entry) => entry[kind]!.p50Ms), backgroundColor: palette.p50 },
        { label: 'p95', data: timed.map((entry) => entry[kind]!.p95Ms), backgroundColor: palette.p95 },
      ],
    },
    options: {
      ...base(true, true),
      // Labels at powers of ten only: 1, 2 and 5 of each decade would overlap.
      scales: {
        x: axis({
          type: 'logarithmic',
          ticks: {
            color: palette.foreground,
            callback: (value: number | string) =>
              Number.isInteger(Math.log10(Number(value))) ? formatMs(Number(value)) : '',
          },
        }),
        y: every(),
      },
      plugins: {
        ...base(true, true)!.plugins,
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatMs(Number(item.raw))}` } },
      },
    },
  });
  return {
    ended: {
      type: 'bar',
      data: {
        labels: data.buckets.map((bucket) => time.format(bucket.start)),
        datasets: ENDED_STATE_ORDER.map((state) => ({
          label: state,
          data: data.buckets.map((bucket) => bucket.ended[state]),
          backgroundColor: palette.states[state],
          stack: 'ended',
        })),
      },
      options: {
        ...base(false, true),
        scales: {
          x: axis({ stacked: true }),
          y: axis({ stacked: true, beginAtZero: true, ticks: { color: palette.foreground, precision: 0 } }),
        },
      },
    },
    queue: {
      type: 'bar',
      data: {
        labels: ['pending', 'running'],
        datasets: [
          {
            label: 'tasks',
            data: [data.queue.pending, data.queue.running],
            backgroundColor: [palette.states.pending, palette.states.running],
          },
        ],
      },
      options: {
        ...base(false, false),
        scales: { x: axis(), y: axis({ beginAtZero: true, ticks: { color: palette.foreground, precision: 0 } }) },
      },
    },
    schedulers: {
      type: 'bar',
      data: {
        labels: data.schedulers.map((scheduler) => scheduler.label),
        datasets: [
          {
            label: 'running',
            data: data.schedulers.map((scheduler) => scheduler.running),
            backgroundColor: palette.states.running,
            stack: 'slots',
          },
          {
            label: 'free',
            data: data.schedulers.map((scheduler) => Math.max(0, scheduler.concurrency - scheduler.running)),
            backgroundColor: palette.free,
            stack: 'slots',
          },
        ],
      },
      options: {
        ...base(true, true),
        scales: {
          x: axis({ stacked: true, beginAtZero: true, ticks: { color: palette.foreground, precision: 0 } }),
          y: every({ stacked: true }),
        },
      },
    },
    wait: timing('wait'),
    run: timing('run'),
    failures: {
      type: 'bar',
      data: {
        labels: data.tasks.map((entry) => entry.label),
        datasets: [
          {
            label: 'failure rate',
            data: data.tasks.map((entry) => Math.round(entry.failureRate * 1000) / 10),
            backgroundColor: palette.failure,
          },
        ],
      },
      options: {
        ...base(true, false),
        scales: {
          x: axis({
            min: 0,
            max: 100,
            ticks: { color: palette.foreground, callback: (value: number | string) => `${value} %` },
          }),
          y: every(),
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => {
                const entry = data.tasks[item.dataIndex];
                return `${item.raw} %: ${entry.failed} failed, ${entry.lost} lost of ${entry.ended} ended`;
              },
            },
          },
        },
      },
    },
  };
}

/** How many bars a chart has along its category axis (for its height, and to say when it is empty). */
export function categoryCount(config: ChartConfiguration<'bar'>): number {
  return config.data.labels?.length ?? 0;
}

/** The height a horizontal chart needs for its bars to read: more for the p50/p95 pairs. */
export function horizontalHeight(name: ChartName, bars: number): number {
  const perBar = name === 'wait' || name === 'run' ? 44 : 30;
  return Math.max(120, perBar * bars + 70);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(2))} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(2))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toPrecision(2))} min`;
  return `${Number((ms / 3_600_000).toPrecision(2))} h`;
}
