import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { OutcomeJournal } from '../../src/core/scheduler/outcomeJournal';

const outcome = (n: number) => ({
  state: 'succeeded' as const,
  resultJson: JSON.stringify({ n }),
  logs: '',
  progress: { percent: null, message: null },
});

describe('the outcome journal', () => {
  it('writes outcomes recorded together in one flush, and each is on disk when its promise resolves', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-unit-'));
    const journal = OutcomeJournal.open(dir);
    await Promise.all(
      [1, 2, 3].map((n) => journal.record({ taskId: String(n), schedulerId: '1', outcome: outcome(n) })),
    );
    const lines = fs
      .readFileSync(journal.file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => line.entry.taskId),
      ['1', '2', '3'],
    );
    assert.equal(journal.size, 3);
    await journal.close();
    assert.ok(fs.existsSync(journal.file), 'undelivered outcomes keep the file');
  });

  it('starts the file afresh once everything is delivered, with no hole before the next line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-unit-'));
    const journal = OutcomeJournal.open(dir);
    await journal.record({ taskId: '1', schedulerId: '1', outcome: outcome(1) });
    journal.delivered('1');
    assert.equal(fs.statSync(journal.file).size, 0);
    await journal.record({ taskId: '2', schedulerId: '1', outcome: outcome(2) });
    const text = fs.readFileSync(journal.file, 'utf8');
    assert.ok(!text.includes('\0'), 'no NUL bytes where the emptied file used to end');
    assert.equal(JSON.parse(text.trim()).entry.taskId, '2');
    journal.delivered('2');
    await journal.close();
    assert.ok(!fs.existsSync(journal.file), 'an empty journal is removed on close');
  });

  it('writes a delivered mark with the next outcomes, not on its own, and the last ones on close', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-unit-'));
    const journal = OutcomeJournal.open(dir);
    const lines = () =>
      fs
        .readFileSync(journal.file, 'utf8')
        .trim()
        .split('\n')
        .map((text) => JSON.parse(text))
        .map((l) => `${l.type} ${l.taskId ?? l.entry.taskId}`);
    await journal.record({ taskId: '1', schedulerId: '1', outcome: outcome(1) });
    await journal.record({ taskId: '2', schedulerId: '1', outcome: outcome(2) });
    journal.delivered('1');
    assert.deepEqual(lines(), ['outcome 1', 'outcome 2'], 'no write for the mark alone');
    await journal.record({ taskId: '3', schedulerId: '1', outcome: outcome(3) });
    assert.deepEqual(lines(), ['outcome 1', 'outcome 2', 'delivered 1', 'outcome 3']);
    journal.delivered('3');
    await journal.close();
    assert.deepEqual(
      lines(),
      ['outcome 1', 'outcome 2', 'delivered 1', 'outcome 3', 'delivered 3'],
      'what is still pending (2) stays; the rest is marked',
    );
  });

  it('keeps a journal that never empties (steady load) to its pending outcomes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-unit-'));
    const journal = OutcomeJournal.open(dir);
    await journal.record({ taskId: 'stuck', schedulerId: '1', outcome: outcome(0) });
    const megabyteOfLogs = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 20; i++) {
      await journal.record({ taskId: `t${i}`, schedulerId: '1', outcome: { ...outcome(i), logs: megabyteOfLogs } });
      journal.delivered(`t${i}`);
    }
    await journal.record({ taskId: 'last', schedulerId: '1', outcome: outcome(1) });
    const size = fs.statSync(journal.file).size;
    assert.ok(size < 10 * 1024 * 1024, `compacted: ${size} bytes after 20 MiB of outcomes`);
    const kept = fs
      .readFileSync(journal.file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => line.type === 'outcome')
      .map((line) => line.entry.taskId);
    assert.ok(
      kept.includes('stuck') && kept.includes('last'),
      `pending outcomes survive compaction: ${kept.join(', ')}`,
    );
    await journal.close();
  });

  it('a later process adopts what a dead one left, line by line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskman-journal-unit-'));
    const deadPid = 2 ** 22 + 12345;
    const orphan = path.join(dir, `outcomes-${os.hostname()}-${deadPid}.jsonl`);
    fs.writeFileSync(
      orphan,
      [
        JSON.stringify({ type: 'outcome', entry: { taskId: '7', schedulerId: '1', outcome: outcome(7) } }),
        JSON.stringify({ type: 'outcome', entry: { taskId: '8', schedulerId: '1', outcome: outcome(8) } }),
        JSON.stringify({ type: 'delivered', taskId: '7' }),
        '{"type":"outc',
      ].join('\n'),
    );
    const journal = OutcomeJournal.open(dir);
    const warnings: string[] = [];
    const adopted = journal.adoptOrphans({ debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} });
    assert.deepEqual(
      adopted.map((entry) => entry.taskId),
      ['8'],
    );
    assert.equal(warnings.length, 1, 'the torn last line is reported');
    assert.ok(!fs.existsSync(orphan));
    assert.match(fs.readFileSync(journal.file, 'utf8'), /"taskId":"8"/);
    await journal.close();
  });
});
