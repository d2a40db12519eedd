/**
 * The reliability and security suite: races, crashes, outages, a zombie, hostile input, security,
 * and the network: lost replies, partitions, half-open connections, resets, latency, TLS, Galera.
 * Task bodies record each execution in a side table with a unique key, so duplicates and losses
 * are counted, not guessed. Prints a table; exits non-zero on any miss.
 *   npm run test:chaos                 (the full profile: a few minutes)
 *   tsx test/chaos/chaos.ts --profile small   (what npm test runs)
 *   tsx test/chaos/chaos.ts --profile small --only tls,galera   (some cases, by name)
 */
import { ChaosContext, formatTable, type Profile, PROFILES, type Row } from './context';
import { hostileInput, rowsNeverLoadCode } from './hostileCases';
import { galera } from './galeraCase';
import { lostReplies } from './lostReplyCases';
import { halfOpen, killedMidClaim, latency, partition, resetEverything } from './networkCases';
import { crashStorm, outage, race, zombie } from './processCases';
import { embeddedServerIsPrivate, passwordNeverLeaks } from './securityCases';
import { tls } from './tlsCase';

export async function runChaos(
  profile: Profile,
  log: (line: string) => void = () => undefined,
  only?: string[],
): Promise<Row[]> {
  const ctx = await ChaosContext.start();
  const rows: Row[] = [];
  const all: [string, () => Promise<Row | Row[]>][] = [
    ['race', () => race(ctx, profile)],
    ['crash storm', () => crashStorm(ctx, profile)],
    ['zombie', () => zombie(ctx)],
    ['hostile input', () => hostileInput(ctx)],
    ['security: rows name code', () => rowsNeverLoadCode(ctx)],
    ['security: password', () => passwordNeverLeaks(ctx)],
    ['security: embedded server', () => embeddedServerIsPrivate()],
    ['lost replies', () => lostReplies(ctx)],
    ['partition', () => partition(ctx, profile)],
    ['half-open connections', () => halfOpen(ctx)],
    ['every connection reset', () => resetEverything(ctx)],
    ['KILL CONNECTION mid-claim', () => killedMidClaim(ctx)],
    ['50 ms round trip', () => latency(ctx, profile)],
    ['galera', () => galera(ctx, profile)],
    ['tls', () => tls(ctx, profile)],
    // Last: it restarts the server under everything else.
    ['database outage', () => outage(ctx, profile)],
  ];
  const unknown = only?.filter((name) => !all.some(([known]) => known === name)) ?? [];
  if (unknown.length) {
    await ctx.stop();
    throw new Error(`no case named ${unknown.join(', ')}: the cases are ${all.map(([name]) => name).join(', ')}`);
  }
  const cases = only ? all.filter(([name]) => only.includes(name)) : all;
  try {
    for (const [name, body] of cases) {
      const began = performance.now();
      try {
        rows.push(...[await body()].flat());
      } catch (error) {
        rows.push({
          case: name,
          expected: 'completes',
          observed: `threw: ${(error as Error).message}`,
          figures: '',
          ok: false,
        });
      }
      log(`${name}: ${rows.at(-1)!.ok ? 'ok' : 'MISS'} (${((performance.now() - began) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await ctx.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--profile');
  const name = (at > 0 ? process.argv[at + 1] : 'full') as Profile['name'];
  const profile = PROFILES[name];
  if (!profile) throw new Error(`unknown profile "${name}": small or full`);
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? process.argv[onlyAt + 1]?.split(',').map((c) => c.trim()) : undefined;
  console.log(`Taskman reliability and security suite, profile ${name}${only ? `, only ${only.join(', ')}` : ''}`);
  const rows = await runChaos(profile, (line) => console.log(`  ${line}`), only);
  console.log(`\n${formatTable(rows)}\n`);
  const failed = rows.filter((r) => !r.ok).length;
  console.log(`${rows.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
