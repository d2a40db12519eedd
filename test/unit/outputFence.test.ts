import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FencedStream, newOutputFence } from '../../src/core/scheduler/outputFence';

function reader(fence: string) {
  const out: string[] = [];
  let current = '';
  const stream = new FencedStream(
    fence,
    (chunk) => (current += chunk.toString()),
    () => {
      out.push(current);
      current = '';
    },
  );
  return { stream, parts: () => [...out, current] };
}

describe('output fence', () => {
  const fence = newOutputFence();

  it('is different for every runner and starts with a byte no text output has', () => {
    assert.notEqual(newOutputFence(), fence);
    assert.equal(fence[0], '\0');
  });

  it('splits the output at each fence and takes the fence out, wherever the chunks are cut', () => {
    const text = `first task\n${fence}second\0task\n${fence}${fence}after`;
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++)
      for (const size of [1, 7, bytes.length]) {
        const { stream, parts } = reader(fence);
        const chunks = [bytes.subarray(0, cut), ...chunk(bytes.subarray(cut), size)];
        for (const piece of chunks) stream.push(piece);
        assert.equal(stream.fences, 3, `cut at ${cut}, chunks of ${size}`);
        assert.deepEqual(parts(), ['first task\n', 'second\0task\n', '', 'after'], `cut at ${cut}, chunks of ${size}`);
      }
  });

  it('holds back only what may be the start of a fence, and gives it back at the end', () => {
    const { stream, parts } = reader(fence);
    stream.push(Buffer.from('output\0'));
    stream.push(Buffer.from('more output\0taskman-output'));
    assert.deepEqual(parts(), ['output\0more output']);
    stream.end();
    assert.ok(stream.ended);
    assert.deepEqual(parts(), ['output\0more output\0taskman-output', '']);
  });

  it("is not fooled by another runner's fence", () => {
    const { stream, parts } = reader(fence);
    stream.push(Buffer.from(`a${newOutputFence()}b`));
    assert.equal(stream.fences, 0);
    assert.equal(
      parts()
        .join('')
        .replace(/\0taskman-output-fence-[0-9a-f]+\0/, ''),
      'ab',
    );
  });
});

function chunk(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
  return pieces;
}
