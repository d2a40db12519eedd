/**
 * The dashboard page's script (bundled for the browser, loaded under a strict CSP): draws what
 * the extension posts, posts back the window chosen with the buttons, and reports what it drew.
 */
import { Chart } from 'chart.js';
import {
  categoryCount,
  type ChartName,
  chartConfigs,
  horizontalHeight,
  type Palette,
  themePalette,
} from './dashboardCharts';
import {
  type DashboardData,
  type DashboardWindow,
  ENDED_STATE_ORDER,
  type FromWebview,
  type RenderedSummary,
  type ToWebview,
} from './dashboardMessages';

declare function acquireVsCodeApi(): { postMessage(message: FromWebview): void };

const vscode = acquireVsCodeApi();
const charts = new Map<ChartName, Chart<'bar'>>();
let palette: Palette = themePalette();
let shown: ToWebview | undefined;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function render(message: ToWebview): void {
  shown = message;
  const banner = element('banner');
  const main = element('charts');
  markWindow(message.type === 'statistics' ? message.data : message.window);
  if (message.type === 'unavailable') {
    banner.textContent = message.message;
    banner.hidden = false;
    // Old numbers under a "cannot read" banner would pass for current ones.
    main.hidden = true;
    report({ kind: 'unavailable', message: banner.textContent });
    return;
  }
  banner.hidden = true;
  main.hidden = false;
  const data = message.data;
  element('ended-title').textContent =
    `Tasks ended per ${data.bucketMinutes === 1 ? 'minute' : `${data.bucketMinutes} minutes`}, by state, over the last ${data.window}`;
  element('updated').textContent = `Updated ${new Date(data.now).toLocaleTimeString()}`;
  const configs = chartConfigs(data, palette);
  for (const [name, config] of Object.entries(configs) as [ChartName, (typeof configs)[ChartName]][]) {
    const bars = categoryCount(config);
    const canvas = element<HTMLCanvasElement>(name);
    const horizontal = config.options?.indexAxis === 'y';
    // Horizontal charts grow with their bars; set through the CSSOM, which the CSP allows.
    (canvas.parentElement as HTMLElement).style.height = horizontal ? `${horizontalHeight(name, bars)}px` : '';
    element(`${name}-empty`).hidden = bars > 0 && (name !== 'ended' || total(data) > 0);
    const existing = charts.get(name);
    if (existing && existing.options.indexAxis === config.options?.indexAxis) {
      existing.data = config.data;
      existing.options = config.options!;
      existing.update('none');
    } else {
      existing?.destroy();
      charts.set(name, new Chart(canvas, config));
    }
    canvas.setAttribute('aria-label', describe(name, data));
  }
  report(summarise(data));
}

function total(data: DashboardData): number {
  return data.buckets.reduce(
    (sum, bucket) => sum + ENDED_STATE_ORDER.reduce((n, state) => n + bucket.ended[state], 0),
    0,
  );
}

/** A sentence for screen readers: what the chart shows, in numbers. */
function describe(name: ChartName, data: DashboardData): string {
  const endedBy = ENDED_STATE_ORDER.map(
    (state) => `${data.buckets.reduce((n, bucket) => n + bucket.ended[state], 0)} ${state}`,
  ).join(', ');
  switch (name) {
    case 'ended':
      return `Over the last ${data.window}: ${endedBy}.`;
    case 'queue':
      return `${data.queue.pending} pending, ${data.queue.running} running.`;
    case 'schedulers':
      return (
        data.schedulers.map((s) => `${s.label}: ${s.running} of ${s.concurrency} running`).join('; ') ||
        'No scheduler registered.'
      );
    case 'wait':
    case 'run':
      return (
        data.tasks
          .filter((t) => t[name])
          .map((t) => `${t.label}: p50 ${Math.round(t[name]!.p50Ms)} ms, p95 ${Math.round(t[name]!.p95Ms)} ms`)
          .join('; ') || 'No task started in this window.'
      );
    case 'failures':
      return (
        data.tasks.map((t) => `${t.label}: ${Math.round(t.failureRate * 100)} % of ${t.ended}`).join('; ') ||
        'No task ended in this window.'
      );
  }
}

/** Read back from the charts themselves, so that a test sees what was drawn, not what was sent. */
function summarise(data: DashboardData): RenderedSummary {
  const ended = charts.get('ended')!.data.datasets;
  const sum = (values: unknown[]) => values.reduce<number>((n, value) => n + Number(value), 0);
  const queue = charts.get('queue')!.data.datasets[0].data.map(Number);
  return {
    kind: 'statistics',
    window: { window: data.window, bucketMinutes: data.bucketMinutes },
    ended: Object.fromEntries(
      ENDED_STATE_ORDER.map((state) => [state, sum(ended.find((set) => set.label === state)?.data ?? [])]),
    ) as Record<(typeof ENDED_STATE_ORDER)[number], number>,
    queue: { pending: queue[0], running: queue[1] },
    taskLabels: (charts.get('failures')!.data.labels ?? []).map(String),
    schedulerLabels: (charts.get('schedulers')!.data.labels ?? []).map(String),
    charts: charts.size,
  };
}

function report(summary: RenderedSummary): void {
  vscode.postMessage({ type: 'rendered', summary });
}

function markWindow(window: DashboardWindow): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-window]')) {
    const chosen = button.dataset.window === window.window && Number(button.dataset.bucket) === window.bucketMinutes;
    button.setAttribute('aria-checked', String(chosen));
  }
}

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-window]')) {
  button.addEventListener('click', () => {
    const window = {
      window: button.dataset.window as DashboardWindow['window'],
      bucketMinutes: Number(button.dataset.bucket),
    };
    markWindow(window);
    // A first read of the last day can take seconds on a busy table.
    element('updated').textContent = `Reading the last ${window.window}…`;
    vscode.postMessage({ type: 'choose', window });
  });
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => render(event.data));

// VS Code changes the body's class (and the colour variables) when the theme changes.
new MutationObserver(() => {
  palette = themePalette();
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  if (shown) render(shown);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

vscode.postMessage({ type: 'ready' });
