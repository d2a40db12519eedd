/**
 * The task page, in its webview: renders what the extension sends (textContent only, never
 * markup from data) and sends back what the user clicks. No state of its own beyond the draft payload.
 */
import type { PageRequest, PageUpdate, TaskPageModel } from '../extension/taskPage/taskPageProtocol';
import './taskPage.css';

const vscode = acquireVsCodeApi();
const send = (request: PageRequest) => vscode.postMessage(request);
const root = document.getElementById('page')!;
let model: TaskPageModel | undefined;
/** The payload being edited survives refreshes while the user types. */
let draft: string | undefined;
let payloadError: string | undefined;
let banner: string | undefined;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string } = {},
  ...children: (Node | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  for (const child of children) if (child) node.append(child);
  return node;
}

function button(
  label: string,
  request: PageRequest,
  options: { secondary?: boolean; id?: string } = {},
): HTMLButtonElement {
  const node = el('button', { className: options.secondary ? 'secondary' : '', text: label });
  if (options.id) node.id = options.id;
  node.addEventListener('click', () => send(request));
  return node;
}

function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return el('section', {}, el('h2', { text: title }), ...children);
}

function taskLink(id: string, state: string): HTMLElement {
  const link = el('a', { className: 'task-link', text: `#${id}`, title: `Open task ${id}` });
  link.href = '#';
  link.addEventListener('click', (event) => {
    event.preventDefault();
    send({ type: 'openTask', id });
  });
  return el('span', {}, link, document.createTextNode(` (${state})`));
}

function time(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

function header(m: TaskPageModel): HTMLElement {
  const state = el('span', {
    className: `state state-${m.paused ? 'paused' : m.state}`,
    text: m.paused ? 'paused at a breakpoint' : m.state,
  });
  const actions = el('div', { className: 'actions' });
  if (m.actions.abort) actions.append(button('Abort', { type: 'action', action: 'abort' }, { id: 'abort' }));
  if (m.actions.rerun) actions.append(button('Rerun', { type: 'action', action: 'rerun' }, { id: 'rerun' }));
  if (m.actions.debugRerun)
    actions.append(
      button('Debug Rerun', { type: 'action', action: 'debugRerun' }, { secondary: true, id: 'debug-rerun' }),
    );
  actions.append(button('Copy ID', { type: 'action', action: 'copyId' }, { secondary: true, id: 'copy-id' }));
  if (m.actions.delete)
    actions.append(button('Delete', { type: 'action', action: 'delete' }, { secondary: true, id: 'delete' }));
  return el(
    'header',
    {},
    el('h1', {}, el('span', { text: `#${m.id} ${m.task}` }), state),
    el('p', { className: 'subtitle', text: `${m.application}${m.durations ? ` · ${m.durations}` : ''}` }),
    actions,
  );
}

function progress(m: TaskPageModel): HTMLElement | null {
  if (!m.progress) return null;
  const bar = el('progress');
  bar.max = 100;
  if (m.progress.percent !== null) bar.value = m.progress.percent;
  const label = [m.progress.percent !== null ? `${Math.round(m.progress.percent)}%` : null, m.progress.message]
    .filter(Boolean)
    .join(' · ');
  return section('Progress', bar, el('p', { className: 'progress-label', text: label }));
}

function timeline(m: TaskPageModel): HTMLElement {
  const list = el('ol', { className: 'timeline' });
  for (const step of m.timeline)
    list.append(
      el(
        'li',
        { className: step.at ? 'done' : 'todo' },
        el('span', { className: 'step', text: step.label }),
        el('span', { className: 'at', text: time(step.at) }),
      ),
    );
  return section('Timeline', list);
}

function payload(m: TaskPageModel): HTMLElement {
  const editor = el('textarea', { className: 'payload' });
  editor.id = 'payload';
  editor.spellcheck = false;
  editor.value = draft ?? m.payloadText;
  editor.rows = Math.min(16, Math.max(3, editor.value.split('\n').length));
  editor.addEventListener('input', () => {
    draft = editor.value;
    if (payloadError === undefined) return;
    payloadError = undefined;
    render();
  });
  const children: (Node | null)[] = [editor];
  if (m.actions.rerun) {
    const rerun = el('button', { className: 'secondary', text: 'Rerun with This Payload' });
    rerun.id = 'rerun-with-payload';
    rerun.addEventListener('click', () => send({ type: 'rerunWithPayload', payloadText: editor.value }));
    children.push(el('div', { className: 'actions' }, rerun));
  }
  return section('Payload', ...children);
}

function outcome(m: TaskPageModel): HTMLElement | null {
  if (m.resultText !== null) return section('Result', el('pre', { className: 'code', text: m.resultText }));
  if (!m.error) return null;
  const frames = el('ol', { className: 'frames' });
  m.frames.forEach((frame, index) => {
    if (!frame.location) {
      frames.append(el('li', { className: 'frame', text: frame.text }));
      return;
    }
    const link = el('a', {
      className: 'frame-link',
      text: frame.text.trim(),
      title: `Open ${frame.location.file} at line ${frame.location.line}`,
    });
    link.href = '#';
    link.addEventListener('click', (event) => {
      event.preventDefault();
      send({ type: 'openFrame', index });
    });
    frames.append(el('li', { className: 'frame' }, link));
  });
  const title = `${m.error.name}${m.error.code ? ` [${m.error.code}]` : ''}`;
  const hidden = m.hiddenFrames
    ? el('p', {
        className: 'muted',
        text: `${m.hiddenFrames} frame${m.hiddenFrames === 1 ? '' : 's'} of Taskman's own code hidden.`,
      })
    : null;
  return section(
    'Error',
    el(
      'p',
      { className: 'error-text' },
      el('strong', { text: title }),
      document.createTextNode(`: ${m.error.message}`),
    ),
    frames,
    hidden,
  );
}

function logs(m: TaskPageModel): HTMLElement {
  const pre = el('pre', { className: 'code logs' });
  pre.id = 'logs';
  return section(m.ended ? 'Logs' : 'Logs (live)', pre);
}

/** New output goes into the same element: a reader scrolled up stays put, one at the end follows. */
function showLogs(text: string): void {
  const pre = document.getElementById('logs');
  if (!pre || pre.textContent === text) return;
  const following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const kept = pre.scrollTop;
  pre.textContent = text;
  pre.scrollTop = following ? pre.scrollHeight : kept;
}

function details(m: TaskPageModel): HTMLElement {
  const list = el('dl', { className: 'details' });
  for (const { label, value } of m.details) list.append(el('dt', { text: label }), el('dd', { text: value }));
  const lineage = el('div', { className: 'lineage' });
  if (m.rerunOf)
    lineage.append(el('p', {}, document.createTextNode('Rerun of '), taskLink(m.rerunOf.id, m.rerunOf.state)));
  if (m.reruns.length) {
    const reruns = el('p', {}, document.createTextNode('Reruns: '));
    m.reruns.forEach((rerun, i) => {
      reruns.append(...(i ? [document.createTextNode(', ')] : []), taskLink(rerun.id, rerun.state));
    });
    lineage.append(reruns);
  }
  return section('Details', list, lineage);
}

function attempts(m: TaskPageModel): HTMLElement | null {
  if (m.attempts.length === 0) return null;
  const list = el('ol', { className: 'attempts' });
  for (const attempt of m.attempts) {
    const item = el('li', { className: 'attempt' }, el('span', { text: attempt.summary }));
    if (attempt.error) item.append(el('p', { className: 'error-text', text: attempt.error }));
    list.append(item);
  }
  return section('Earlier attempts', list);
}

/** Each region is rebuilt only when what it shows changed: a refresh never steals the caret or scroll. */
const regions = new Map<string, { key: string; node: Node }>();

function region(name: string, key: unknown, build: () => Node | null): Node[] {
  const text = JSON.stringify(key);
  const kept = regions.get(name);
  if (kept && kept.key === text) return [kept.node];
  const node = build();
  if (!node) {
    regions.delete(name);
    return [];
  }
  regions.set(name, { key: text, node });
  return [node];
}

function render(): void {
  const m = model;
  const nodes = [
    ...region('banner', banner, () => (banner ? el('div', { className: 'banner', text: banner }) : null)),
    ...(m
      ? [
          ...region('header', [m.id, m.task, m.state, m.paused, m.application, m.durations, m.actions], () =>
            header(m),
          ),
          ...region('progress', m.progress, () => progress(m)),
          ...region('outcome', [m.resultText, m.error, m.frames, m.hiddenFrames], () => outcome(m)),
          ...region('attempts', m.attempts, () => attempts(m)),
          ...region('timeline', m.timeline, () => timeline(m)),
          // The editor is made once per payload; its error is a region of its own, so that
          // showing or clearing it never replaces the text being typed.
          ...region('payload', [m.payloadText, m.actions.rerun], () => payload(m)),
          ...region('payloadError', payloadError, () =>
            payloadError ? el('p', { className: 'error-text payload-error', text: payloadError }) : null,
          ),
          ...region('logs', m.ended, () => logs(m)),
          ...region('details', [m.details, m.rerunOf, m.reruns], () => details(m)),
        ]
      : []),
  ];
  // Only nodes that are new or moved are touched; a kept node stays where it is, focus and all.
  nodes.forEach((node, index) => {
    if (root.childNodes[index] !== node) root.insertBefore(node, root.childNodes[index] ?? null);
  });
  while (root.childNodes.length > nodes.length) root.lastChild!.remove();
  if (m) showLogs(m.logs || '(no output yet)');
}

window.addEventListener('message', (event: MessageEvent<PageUpdate>) => {
  const update = event.data;
  if (update.type === 'task') {
    model = update.model;
    banner = undefined;
  } else if (update.type === 'payloadError') {
    payloadError = update.message;
  } else {
    banner = update.message;
  }
  render();
});

send({ type: 'ready' });
