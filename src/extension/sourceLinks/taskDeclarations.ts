import type { Node, Statement } from '@babel/types';

/** Where a module declares an export, by name: a line and column (both 0-based). */
export interface ExportDeclaration {
  name: string;
  line: number;
  column: number;
}

/**
 * The exports a JavaScript or TypeScript module declares, found by parsing its text (never by
 * running it): `export function f`, `export const f =`, `export { f }`, `exports.f =`,
 * `module.exports.f =`, `module.exports = { f, g }`. A file that does not parse yields nothing.
 * A Python module's are its top-level functions (pythonDeclarations).
 */
export function exportDeclarations(text: string, fileName: string): ExportDeclaration[] {
  if (fileName.endsWith('.py')) return pythonDeclarations(text);
  const typescript = /\.[cm]?tsx?$/.test(fileName);
  // Loaded on first use, not at activation: most windows never show a lens.
  const { parse } = require('@babel/parser') as typeof import('@babel/parser');
  let program: ReturnType<typeof parse>['program'];
  try {
    program = parse(text, {
      sourceType: 'unambiguous',
      errorRecovery: true,
      allowReturnOutsideFunction: true,
      plugins: typescript ? ['typescript', ...(fileName.endsWith('x') ? (['jsx'] as const) : [])] : ['jsx'],
    }).program;
  } catch {
    return [];
  }
  const found: ExportDeclaration[] = [];
  const add = (name: string, node: Node) => {
    if (node.loc) found.push({ name, line: node.loc.start.line - 1, column: node.loc.start.column });
  };
  for (const statement of program.body) declarationsOf(statement, add);
  return found;
}

function declarationsOf(statement: Statement, add: (name: string, node: Node) => void): void {
  if (statement.type === 'ExportNamedDeclaration') {
    const declaration = statement.declaration;
    if (declaration?.type === 'FunctionDeclaration' && declaration.id) add(declaration.id.name, statement);
    if (declaration?.type === 'VariableDeclaration') {
      for (const declarator of declaration.declarations)
        if (declarator.id.type === 'Identifier') add(declarator.id.name, statement);
    }
    for (const specifier of statement.specifiers) {
      if (specifier.type === 'ExportSpecifier')
        add(specifier.exported.type === 'Identifier' ? specifier.exported.name : specifier.exported.value, specifier);
    }
    return;
  }
  if (statement.type !== 'ExpressionStatement' || statement.expression.type !== 'AssignmentExpression') return;
  const { left, right } = statement.expression;
  if (left.type !== 'MemberExpression') return;
  const name = propertyName(left.property, left.computed);
  // exports.f = … and module.exports.f = …
  if (name && (isIdentifier(left.object, 'exports') || isModuleExports(left.object))) {
    add(name, statement);
    return;
  }
  // module.exports = { f, g: … }
  if (isModuleExports(left) && right.type === 'ObjectExpression') {
    for (const property of right.properties) {
      if (property.type !== 'ObjectProperty' && property.type !== 'ObjectMethod') continue;
      const key = propertyName(property.key, property.computed);
      if (key) add(key, property);
    }
  }
}

function isIdentifier(node: Node, name: string): boolean {
  return node.type === 'Identifier' && node.name === name;
}

function isModuleExports(node: Node): boolean {
  return (
    node.type === 'MemberExpression' &&
    isIdentifier(node.object, 'module') &&
    propertyName(node.property, node.computed) === 'exports'
  );
}

function propertyName(node: Node, computed: boolean): string | undefined {
  if (!computed && node.type === 'Identifier') return node.name;
  if (node.type === 'StringLiteral') return node.value;
  return undefined;
}

/** A top-level `def name(` or `async def name(`: at the start of a line, as Python requires. */
const PYTHON_DEF = /^(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\(/gm;

/**
 * The functions a Python module defines at its top level, found in its text (never by importing
 * it). Which of them are tasks is the runner's answer (the caller keeps only the listed names), so
 * a `def` at the start of a line inside a string can only ever show a lens for a real task.
 */
export function pythonDeclarations(text: string): ExportDeclaration[] {
  const found: ExportDeclaration[] = [];
  for (const match of text.matchAll(PYTHON_DEF)) {
    const before = text.slice(0, match.index);
    const line = before.split('\n').length - 1;
    found.push({ name: match[1], line, column: 0 });
  }
  return found;
}
