/**
 * The messages between a task page (a webview, src/webview/taskPage.ts) and the extension, and
 * the model the page renders. Types only: both sides import it.
 */
// biome-ignore lint/style/noRestrictedImports: the webview typechecks this without Node's types; task.ts needs none
import type { TaskProgress, TaskState } from '../../core/task';

/** What the task page shows, made in the extension; the page only renders it. */
export interface TaskPageModel {
  id: string;
  title: string;
  task: string;
  application: string;
  state: TaskState;
  ended: boolean;
  paused: boolean;
  progress: TaskProgress | null;
  timeline: { label: string; at: string | null }[];
  /** `waited 2s · ran 1m12s` */
  durations: string;
  payloadText: string;
  resultText: string | null;
  error: { name: string; message: string; code: string | null } | null;
  frames: StackFrame[];
  /** Frames of Taskman's own code, left out of `frames`. */
  hiddenFrames: number;
  logs: string;
  details: { label: string; value: string }[];
  /** The runs before this one, of a retried task: `#1 failed · 2026-12-02 10:00:01 · ran 1s · scheduler #7`, and why. */
  attempts: { summary: string; error: string | null }[];
  rerunOf: TaskLink | null;
  reruns: TaskLink[];
  actions: { abort: boolean; rerun: boolean; debugRerun: boolean; delete: boolean };
}

export interface TaskLink {
  id: string;
  state: TaskState;
}

export interface StackFrame {
  text: string;
  /** Set when the frame is in a workspace folder: the page shows it as a link. */
  location: { file: string; line: number; column: number } | null;
}

/** What the page asks of the extension. */
export type PageRequest =
  | { type: 'ready' }
  | { type: 'action'; action: 'abort' | 'rerun' | 'debugRerun' | 'copyId' | 'delete' }
  | { type: 'rerunWithPayload'; payloadText: string }
  | { type: 'openFrame'; index: number }
  | { type: 'openTask'; id: string };

/** What the extension tells the page. */
export type PageUpdate =
  | { type: 'task'; model: TaskPageModel }
  | { type: 'unavailable'; message: string }
  | { type: 'gone'; message: string }
  | { type: 'payloadError'; message: string };
