// `npm run demo:vscode`: the embedded database and a real VS Code (code-server) with the packaged
// extension installed and examples/demo open. Prints the URL; Ctrl-C stops everything it started.
import * as path from 'node:path';
import { ensureEmbeddedServer, stopEmbeddedServer } from '../src/core';
import { codeServerAvailable, startCodeServer } from '../test/vscode/codeServer';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const missing = codeServerAvailable();
  if (missing) throw new Error(missing);
  const database = await ensureEmbeddedServer({});
  console.log(
    database.startedNow
      ? `embedded database started: ${database.url}`
      : `embedded database already running: ${database.url}`,
  );
  const server = await startCodeServer({
    workspace: path.join(root, 'examples', 'demo'),
    trusted: true,
    installVsix: path.join(root, 'out', 'taskman-demo.vsix'),
    userSettings: { 'taskman.database.url': database.url, 'workbench.activityBar.location': 'default' },
  });
  console.log(
    `\nVS Code with Taskman: ${server.url}/?folder=${encodeURIComponent(path.join(root, 'examples', 'demo'))}\n\nOpen it in a browser (forward the port if this is a remote machine). Ctrl-C stops VS Code${database.startedNow ? ' and the embedded database' : ''}.`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await server.stop();
    if (database.startedNow) await stopEmbeddedServer({});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  server.process.on('exit', () => void stop());
}

main().catch((error) => {
  console.error(`demo:vscode: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
