import { pathToFileURL } from 'node:url';
import { TASK_NAME } from '../task';

export type TaskFunction = (payload: unknown, ctx: unknown) => unknown;

/**
 * Loads the tasks module: `require` for CommonJS, `import()` when it is an ES module. Its exports
 * object is what names the tasks; nothing else is reachable.
 */
export async function loadTasksModule(file: string): Promise<Record<string, unknown>> {
  try {
    return require(file) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * The task function called `name`, only if the module itself exports it as a function. An own
 * property check keeps `__proto__`, `constructor`, `toString` and friends from resolving to
 * Object.prototype's members.
 */
export function findTaskFunction(exportsObject: Record<string, unknown>, name: string): TaskFunction | undefined {
  if (!TASK_NAME.test(name)) return undefined;
  if (!Object.hasOwn(exportsObject, name)) return undefined;
  const candidate = exportsObject[name];
  return typeof candidate === 'function' ? (candidate as TaskFunction) : undefined;
}

/** The names of the exported functions, sorted: the tasks this application offers. */
export function listTaskNames(exportsObject: Record<string, unknown>): string[] {
  return Object.keys(exportsObject)
    .filter((name) => findTaskFunction(exportsObject, name) !== undefined)
    .sort();
}
