import type * as vscode from 'vscode';
import type { ExtensionServices } from '../services';

/** Opens the dashboard, or brings the open one forward. */
export function openDashboard(services: ExtensionServices): vscode.WebviewPanel {
  return services.dashboard.open();
}
