import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../chaos/chaos';
import { formatTable, PROFILES } from '../chaos/context';

describe('reliability and security suite (small profile; npm run test:chaos runs the full one)', () => {
  it('every case as expected', { timeout: 900_000 }, async (t) => {
    const rows = await runChaos(PROFILES.small);
    console.log(`\n${formatTable(rows)}`);
    for (const row of rows)
      await t.test(row.case, () => assert.ok(row.ok, `${row.expected}\nobserved: ${row.observed}\n${row.figures}`));
  });
});
