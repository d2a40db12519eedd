// The demo application's tasks: each shows one thing Taskman does. Payloads are optional
// (`payload ?? {}`): a task submitted with a null payload runs with its defaults.

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

/** Reports progress over a few seconds, then returns a small report. */
exports.generateReport = async (payload, ctx) => {
  const { month = '2026-10', sections = 8 } = payload ?? {};
  const totals = {};
  for (let i = 1; i <= sections; i++) {
    await pause(400, ctx.signal);
    totals[`section ${i}`] = i * 1250;
    ctx.progress((i / sections) * 100, `section ${i} of ${sections}`);
  }
  ctx.log(`report for ${month} has ${sections} sections`);
  return { month, region: process.env.DEMO_REGION, totals };
};

/** Fails half-way with a stack trace, as a real import does when it meets a bad row. */
exports.importCustomers = async (payload, ctx) => {
  const { file = 'customers.csv' } = payload ?? {};
  for (let row = 1; row <= 5; row++) {
    await pause(300, ctx.signal);
    ctx.progress(row * 10, `row ${row}`);
  }
  throw new SyntaxError(`${file}: row 6 has 4 columns, expected 5`);
};

/** A long job that stops cleanly when it is aborted. */
exports.rebuildSearchIndex = async (payload, ctx) => {
  const { documents = 1000 } = payload ?? {};
  for (let done = 0; done < documents; done += 10) {
    await pause(100, ctx.signal);
    ctx.progress((done / documents) * 100, `${done} of ${documents} documents`);
  }
  return { documents };
};

/** Sends a digest; the demo gives it a deadline it cannot meet, so it expires unstarted. */
exports.sendDigest = async (payload) => ({ sent: payload?.to ?? null });

/** Returns a structured result at once. */
exports.summarizeSales = async (payload) => ({
  year: payload?.year ?? 2026,
  quarters: [
    { quarter: 'Q1', revenue: 182000, orders: 1204 },
    { quarter: 'Q2', revenue: 201500, orders: 1377 },
    { quarter: 'Q3', revenue: 196250, orders: 1318 },
  ],
  best: 'Q2',
});

// resizeImages is written in TypeScript (src/images.ts), compiled with source maps by `npm run build`.
Object.assign(exports, require('./dist/images.js'));
