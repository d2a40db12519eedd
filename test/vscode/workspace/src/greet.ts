// Compiled with a source map when the test workspace is made: breakpoints are set on this file.
export async function greet(payload: { name: string }): Promise<{ greeting: string }> {
  const name = payload.name.trim();
  const greeting = `Hello, ${name}!`;
  return { greeting };
}
