/** Host logging: one line per message, so the CLI output stays close to `func start`. */
export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type HostLog = (level: HostLogLevel, message: string) => void;

/**
 * Lines written within one turn of the event loop go out in one write per stream: under load the app logs a few
 * lines per request, and a write (a syscall, often to a pipe) per line costs more than the request itself.
 * Whatever is still buffered when the process exits is written then (stdout and stderr pipes are synchronous on
 * Linux).
 */
class LineBuffer {
  private pending = '';
  private scheduled = false;

  constructor(private readonly stream: NodeJS.WriteStream) {
    process.once('exit', () => this.flush());
  }

  write(line: string): void {
    this.pending += `${line}\n`;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.stream.write(text);
  }
}

let buffers: { out: LineBuffer; err: LineBuffer } | undefined;

export function consoleLog(minimum: HostLogLevel = 'info'): HostLog {
  const order: Record<HostLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  buffers ??= { out: new LineBuffer(process.stdout), err: new LineBuffer(process.stderr) };
  const { out, err } = buffers;
  return (level, message) => {
    if (order[level] < order[minimum]) {
      return;
    }
    const line = `[${new Date().toISOString()}] ${message}`;
    if (level === 'error' || level === 'warn') {
      err.write(line);
    } else {
      out.write(line);
    }
  };
}

export const silentLog: HostLog = () => undefined;
