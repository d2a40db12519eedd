import * as fs from 'node:fs';
import { InvalidInputError, MAX_BATCH, SUBMISSION_OPTIONS, type SubmitTaskInput, validateSubmission } from '../../core';
import { UsageError } from '../context';

/** What a line may set besides the payload: `{ "payload": …, "key": …, "priority": …, … }`. */
const LINE_FIELDS = new Set<string>(['payload', ...SUBMISSION_OPTIONS]);

/**
 * The tasks of `taskman submit APP TASK --batch FILE` (`-` for standard input): one JSON value a
 * line, the payload itself, or an object of LINE_FIELDS with a `payload`, whose fields replace
 * the command's options for that line. Blank lines are skipped. Every line is checked before
 * anything is submitted; a bad one is named by its line number.
 */
export function readBatch(source: string, base: Omit<SubmitTaskInput, 'payload' | 'key'>): SubmitTaskInput[] {
  const name = source === '-' ? 'standard input' : source;
  let text: string;
  try {
    text = fs.readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the batch from ${name}: ${(error as Error).message}`);
  }
  const inputs: SubmitTaskInput[] = [];
  // A UTF-8 byte order mark (some editors write one) is not part of the first line's JSON.
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `line ${index + 1} of ${name}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${where} is not JSON: ${(error as Error).message}. Nothing was submitted.`);
    }
    const input = isLineObject(value) ? { ...base, ...value } : { ...base, payload: value };
    try {
      validateSubmission(input);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      throw new UsageError(`${where}: ${error.message} Nothing was submitted.`);
    }
    inputs.push(input);
  });
  if (inputs.length === 0) throw new UsageError(`${name} has no task to submit: give one JSON value a line.`);
  if (inputs.length > MAX_BATCH) {
    throw new UsageError(`${name} has ${inputs.length} tasks; a batch holds at most ${MAX_BATCH}: split it.`);
  }
  return inputs;
}

function isLineObject(value: unknown): value is Partial<SubmitTaskInput> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.includes('payload') && keys.every((key) => LINE_FIELDS.has(key));
}
