// A task written in TypeScript, compiled with source maps (npm run build): "Taskman: Debug Task…"
// stops at breakpoints on these lines, not on the compiled JavaScript.

/** What Taskman passes as the second argument of every task. */
interface TaskContext {
  id: string;
  attempt: number;
  signal: AbortSignal;
  progress(percent: number | null, message?: string): void;
  log(...args: unknown[]): void;
}

export interface ResizePayload {
  images: string[];
  width: number;
}

export interface ResizedImage {
  name: string;
  width: number;
  height: number;
}

/** "Resizes" images to a width, keeping a 4:3 aspect ratio. */
export async function resizeImages(payload: ResizePayload, ctx: TaskContext): Promise<{ resized: ResizedImage[] }> {
  const resized: ResizedImage[] = [];
  for (const [index, name] of payload.images.entries()) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const height = Math.round((payload.width * 3) / 4);
    resized.push({ name: name.replace(/(\.\w+)$/, `-${payload.width}$1`), width: payload.width, height });
    ctx.progress(((index + 1) / payload.images.length) * 100, `resized ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  ctx.log(`resized ${resized.length} images to ${payload.width}px`);
  return { resized };
}
