/** The function VS Code defines in a webview: the page's one channel to its extension. */
declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
};
