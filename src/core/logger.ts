/** Where the engine says what it does. The CLI prints it; the extension sends it to its output channel. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** Writes `level message` lines to stderr, from `minimum` up. */
export function stderrLogger(minimum: LogLevel = 'info', prefix = 'taskman'): Logger {
  const from = LEVELS.indexOf(minimum);
  const write = (level: LogLevel) => (message: string) => {
    if (LEVELS.indexOf(level) >= from)
      process.stderr.write(`${new Date().toISOString()} ${prefix} ${level}: ${message}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
