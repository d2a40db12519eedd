import * as vscode from 'vscode';
import { errorMessage, parseDatabaseUrl } from '../../core';
import type { ExtensionServices } from '../services';

export async function configureDatabase(services: ExtensionServices, url?: string): Promise<void> {
  const config = vscode.workspace.getConfiguration('taskman');
  const value =
    url ??
    (await vscode.window.showInputBox({
      title: 'Taskman: Configure Database',
      prompt: 'MySQL URL without the password (set it next, kept in secret storage). Empty: the embedded database.',
      placeHolder: 'mysql://app@db.internal:3306/jobs',
      value: config.get<string>('database.url', ''),
      ignoreFocusOut: true,
      validateInput: (text) => {
        if (!text.trim()) return undefined;
        try {
          const target = parseDatabaseUrl(text.trim());
          return target.password
            ? 'Leave the password out of the URL: Taskman asks for it next and keeps it in secret storage.'
            : undefined;
        } catch (error) {
          return errorMessage(error);
        }
      },
    }));
  if (value === undefined) return;
  if (!value.trim()) return services.connection.chooseEmbedded();
  if (parseDatabaseUrl(value.trim()).password) {
    throw new Error(
      'Leave the password out of the URL: settings are not a safe place for it. Use "Taskman: Set Database Password…".',
    );
  }
  const unchanged = config.get<string>('database.url', '').trim() === value.trim();
  // A changed setting reconnects by itself (the extension listens for it).
  await config.update('database.url', value.trim(), vscode.ConfigurationTarget.Global);
  if (url === undefined) {
    const answer = await vscode.window.showInformationMessage(
      'Does this database user need a password?',
      'Set Password…',
      'No Password',
    );
    if (answer === 'Set Password…') return setDatabasePassword(services);
  }
  if (unchanged) await services.connection.reconnect();
}

export async function setDatabasePassword(services: ExtensionServices, password?: string): Promise<void> {
  const value =
    password ??
    (await vscode.window.showInputBox({
      title: 'Taskman: Set Database Password',
      prompt: "Kept in VS Code's secret storage, never in settings.",
      password: true,
      ignoreFocusOut: true,
    }));
  if (value === undefined) return;
  await services.connection.storePassword(value);
  await services.connection.reconnect();
}

export async function useEmbeddedDatabase(services: ExtensionServices): Promise<void> {
  await services.connection.chooseEmbedded();
}
