import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportDeclarations } from '../../src/extension/sourceLinks/taskDeclarations';

const names = (text: string, file = 'tasks.js') =>
  exportDeclarations(text, file).map((d) => `${d.name}@${d.line}:${d.column}`);

describe("finding a module's exports by parsing it (CodeLens above task functions)", () => {
  it('finds CommonJS exports: exports.f, module.exports.f, module.exports = { … }', () => {
    const text = [
      'exports.countTo = async ({ n } = {}, ctx) => n;',
      "module.exports.explode = function () { throw new Error('x'); };",
      "exports['quoted'] = () => 1;",
      'const helper = () => 2;',
      'exports.helper.inner = 3;',
    ].join('\n');
    assert.deepEqual(names(text), ['countTo@0:0', 'explode@1:0', 'quoted@2:0']);
    assert.deepEqual(names('module.exports = {\n  a,\n  b: () => 1,\n  c() {},\n};'), ['a@1:2', 'b@2:2', 'c@3:2']);
  });

  it('finds ES module and TypeScript exports', () => {
    const text = [
      'interface Payload { images: string[] }',
      'export async function resizeImages(payload: Payload, ctx: unknown): Promise<number> {',
      '  return payload.images.length;',
      '}',
      'export const greet = (p: { name: string }) => p.name;',
      'function local() {}',
      'export { local as renamed };',
    ].join('\n');
    assert.deepEqual(names(text, 'images.ts'), ['resizeImages@1:0', 'greet@4:0', 'renamed@6:9']);
  });

  it('never runs the code, and survives what does not parse', () => {
    assert.deepEqual(names('process.exit(1); exports.x = 1;'), ['x@0:17']);
    assert.deepEqual(names('exports.ok = 1;\nexports.broken = (;'), [], 'a file that does not parse yields nothing');
    assert.deepEqual(names('}}}{{{'), []);
    assert.deepEqual(names(''), []);
  });

  it("finds a Python module's top-level functions, sync and async, not its methods or nested ones", () => {
    const text = [
      'import os',
      'def generate_report(payload, ctx):',
      '    def helper():',
      '        pass',
      '    return 1',
      'async  def refresh(payload, ctx):',
      '    pass',
      'class Report:',
      '    def method(self):',
      '        pass',
      'generate = lambda payload, ctx: 1',
    ].join('\n');
    assert.deepEqual(names(text, 'tasks.py'), ['generate_report@1:0', 'refresh@5:0']);
    assert.deepEqual(names('def (', 'tasks.py'), []);
  });
});
