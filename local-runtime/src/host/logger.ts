/** Host logging: one line per message, so the CLI output stays close to `func start`. */
export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type HostLog = (level: HostLogLevel, message: string) => void;

export function consoleLog(minimum: HostLogLevel = 'info'): HostLog {
  const order: Record<HostLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return (level, message) => {
    if (order[level] < order[minimum]) {
      return;
    }
    const line = `[${new Date().toISOString()}] ${message}`;
    if (level === 'error' || level === 'warn') {
      console.error(line);
    } else {
      console.log(line);
    }
  };
}

export const silentLog: HostLog = () => undefined;
