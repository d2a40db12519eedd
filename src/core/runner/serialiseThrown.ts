import { inspect } from 'node:util';
import { failure } from '../failures';
import type { TaskError } from '../task';

/**
 * Turns anything a task threw into `{ name, message, stack, code }` that survives JSON. Frames of
 * `ownFile` (the runner's own bundle) are left out of the stack: they say nothing about the task.
 */
export function serialiseThrown(value: unknown, ownFile: string = __filename): TaskError {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const cause =
      value.cause === undefined
        ? ''
        : `\nCaused by: ${value.cause instanceof Error ? (value.cause.stack ?? value.cause.message) : inspect(value.cause, { depth: 2 })}`;
    return {
      name: String(value.name || 'Error'),
      message: String(value.message ?? ''),
      stack: value.stack ? withoutFramesOf(`${value.stack}${cause}`, ownFile) : undefined,
      code: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
    };
  }
  return failure('NonErrorThrown', inspect(value, { depth: 2, breakLength: Infinity }).slice(0, 2000));
}

function withoutFramesOf(stack: string, file: string): string {
  return stack
    .split('\n')
    .filter((line) => !(/^\s+at /.test(line) && line.includes(file)))
    .join('\n');
}
