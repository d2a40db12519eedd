import * as path from 'node:path';
import * as vscode from 'vscode';

/**
 * The debug type a `taskman` configuration of a Python application resolves to. Its adapter is
 * debugpy's own: the Python runner's `debugpy.listen()` starts it on a loopback port, and this
 * extension connects VS Code to that port, so no Python extension is needed.
 */
export const TASKMAN_PYTHON_DEBUG_TYPE = 'taskman-python';

/** Connects a `taskman-python` session to the adapter the debugged task's runner listens with. */
export const pythonDebugAdapterFactory: vscode.DebugAdapterDescriptorFactory = {
  createDebugAdapterDescriptor(session) {
    const { host, port } = session.configuration.connect as { host: string; port: number };
    return new vscode.DebugAdapterServer(port, host);
  },
};

/**
 * The attach configuration for a Python task paused in debugpy's wait_for_client() on `port`.
 * The runner's own file (runner.py in `runnerFolder`, the extension's dist) is left out of
 * stepping, as js-debug's skipFiles leaves out runner.js.
 */
export function pythonAttachConfiguration(
  name: string,
  port: number,
  runnerFolder: string,
  extra: Record<string, unknown>,
): vscode.DebugConfiguration {
  return {
    type: TASKMAN_PYTHON_DEBUG_TYPE,
    request: 'attach',
    name,
    connect: { host: '127.0.0.1', port },
    justMyCode: true,
    rules: [{ path: path.join(runnerFolder, 'runner.py'), include: false }],
    ...extra,
  };
}
