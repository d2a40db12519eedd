import { createHash } from 'node:crypto';
import { InvalidInputError } from './errors';
import type { FieldFailure, TaskOptions } from './retries';

/**
 * Concurrency keys: at no moment do more tasks of one application with the same key run (across
 * every scheduler) than the key's limit. A task's key is given at submit (`concurrencyKey`), or
 * made by the scheduler that first picks it from its task's `concurrencyKey` template in
 * `taskOptions` (`"customer:{customerId}"`). The limits come from `concurrencyLimits`; the claim
 * enforces them (database/lifecycle/claimKeys.ts) with a unique key the database keeps.
 */

/** Keys are stored in an indexed VARCHAR(191). */
export const MAX_KEY_LENGTH = 191;
export const MAX_LIMIT = 100_000;
/** The limit of a key no pattern of `concurrencyLimits` matches. */
export const DEFAULT_LIMIT = 1;

/** One entry of `concurrencyLimits`, in the order they are tried. */
export interface ConcurrencyLimit {
  pattern: string;
  limit: number;
}

/** `concurrencyLimits` in the order they apply: exact keys, then patterns, longest first. */
export type ConcurrencyLimits = readonly ConcurrencyLimit[];

const CONTROL = /\p{Cc}/u;
const PLACEHOLDER = /\{([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\}/g;

/** A key given at submit: 1-191 characters, no control characters. */
export function validConcurrencyKey(value: unknown, field = 'concurrencyKey'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH || CONTROL.test(value))
    throw new InvalidInputError(
      `${field} must be a string of 1-${MAX_KEY_LENGTH} characters without control characters, got ${JSON.stringify(value)}.`,
    );
  return value;
}

/** A template of `taskOptions`: literal text with `{field}` or `{field.sub}` placeholders. */
export function validKeyTemplate(value: unknown, field: string, fail: FieldFailure): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH || CONTROL.test(value))
    fail(field, `must be a string of 1-${MAX_KEY_LENGTH} characters such as "customer:{customerId}"`);
  const literal = (value as string).replace(PLACEHOLDER, '');
  if (/[{}]/.test(literal))
    fail(field, `has a brace that is not a placeholder: write {field} or {field.sub}, got ${JSON.stringify(value)}`);
  return value as string;
}

/**
 * The key a template makes from a payload. A placeholder whose field is missing, or not a
 * string, number or boolean, stays as written: such tasks share one key (never more parallel
 * than asked). A key longer than 191 characters is cut and ends in a hash of the whole.
 */
export function renderKeyTemplate(template: string, payload: unknown): string {
  const key = template.replace(PLACEHOLDER, (placeholder, path: string) => {
    let value: unknown = payload;
    for (const part of path.split('.'))
      value =
        typeof value === 'object' && value !== null && Object.hasOwn(value, part)
          ? (value as Record<string, unknown>)[part]
          : undefined;
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : placeholder;
  });
  if (key.length <= MAX_KEY_LENGTH && !CONTROL.test(key)) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return `${key.replace(CONTROL, ' ').slice(0, MAX_KEY_LENGTH - 33)}#${hash}`;
}

/** `concurrencyLimits` of a config: key or pattern (`*` matches any text) to its limit. */
export function parseConcurrencyLimits(value: unknown, where: string, fail: FieldFailure): ConcurrencyLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(where, 'must be an object of keys or patterns ("customer:*", "*") to their limits');
  const limits: ConcurrencyLimit[] = [];
  for (const [pattern, limit] of Object.entries(value as object)) {
    if (pattern.length === 0 || pattern.length > MAX_KEY_LENGTH || CONTROL.test(pattern))
      fail(`${where}.${pattern}`, `is not a key or pattern: 1-${MAX_KEY_LENGTH} characters, "*" for any text`);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      fail(`${where}.${pattern}`, `must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(limit)}`);
    limits.push({ pattern, limit });
  }
  return orderLimits(limits);
}

/** Exact keys first, then patterns with more literal text first; ties keep the config's order. */
function orderLimits(limits: ConcurrencyLimit[]): ConcurrencyLimits {
  const literal = (pattern: string) => pattern.replaceAll('*', '').length;
  const exact = limits.filter((l) => !l.pattern.includes('*'));
  const patterns = limits.filter((l) => l.pattern.includes('*'));
  return [
    ...exact,
    ...patterns
      .map((l, i) => ({ l, i }))
      .sort((a, b) => literal(b.l.pattern) - literal(a.l.pattern) || a.i - b.i)
      .map(({ l }) => l),
  ];
}

function globMatches(pattern: string, key: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${source}$`).test(key);
}

/** The limit of one key. */
export function limitFor(key: string, limits: ConcurrencyLimits): number {
  for (const { pattern, limit } of limits)
    if (pattern.includes('*') ? globMatches(pattern, key) : pattern === key) return limit;
  return DEFAULT_LIMIT;
}

/**
 * The `concurrencyKey` templates of `taskOptions`, by task name (and "*"). A Map: a row's task
 * name is looked up in it, and `__proto__` or `constructor` must find nothing.
 */
export function keyTemplates(taskOptions: Readonly<Record<string, TaskOptions>>): ReadonlyMap<string, string> {
  const templates = new Map<string, string>();
  for (const [task, options] of Object.entries(taskOptions))
    if (options.concurrencyKey) templates.set(task, options.concurrencyKey);
  return templates;
}
