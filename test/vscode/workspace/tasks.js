// Tasks the extension tests run inside VS Code.

const pause = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

exports.countTo = async ({ n = 5, stepMs = 300 } = {}, ctx) => {
  for (let i = 1; i <= n; i++) {
    await pause(stepMs, ctx.signal);
    ctx.progress((i / n) * 100, `counted ${i} of ${n}`);
  }
  return { counted: n, doubled: n * 2 };
};

exports.chatty = async ({ lines = 3, stepMs = 200 } = {}, ctx) => {
  for (let i = 1; i <= lines; i++) {
    console.log(`line ${i} of ${lines}`);
    await pause(stepMs, ctx.signal);
  }
  return { lines };
};

exports.maybeFail = async ({ fail = false } = {}) => {
  if (fail) throw new RangeError('asked to fail');
  return { ok: true };
};

exports.explode = async ({ reason = 'boom' } = {}) => {
  throw new TypeError(`exploded: ${reason}`);
};

exports.waitForever = async (_payload, ctx) => {
  ctx.progress(1, 'waiting to be aborted');
  await pause(3_600_000, ctx.signal);
};

exports.parentOfTwo = async (_payload, ctx) => {
  const children = [
    await ctx.submit('countTo', { n: 1, stepMs: 10 }),
    await ctx.submit('countTo', { n: 1, stepMs: 10 }),
  ];
  return { children };
};

// greet is TypeScript (src/greet.ts), compiled with a source map into dist/ by the test harness.
Object.assign(exports, require('./dist/greet.js'));
