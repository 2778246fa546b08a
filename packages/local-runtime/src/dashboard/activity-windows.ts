/**
 * When each activity ran, and for which instance: the link between an SMS the Twilio emulator received and
 * the instance that sent it. An SMS belongs to an instance when it arrived while one of that instance's
 * activities was running and the instance's input names the SMS's destination number, in full or masked
 * (an app that keeps recipients out of history leaves only a mask there). Both clocks are
 * this machine's wall clock (the emulator stamps `dateCreated` with it), so this holds with a manual
 * engine clock too.
 */
import type { FunctionInvoker } from '../contracts';

export interface ActivityWindow {
  readonly instanceId: string;
  readonly functionName: string;
  readonly startMs: number;
  /** Undefined while the activity runs. */
  endMs: number | undefined;
}

/** The newest windows are kept; older SMS simply show no instance. */
const MAX_WINDOWS = 5000;
/** The emulator and the wrapper read the clock at slightly different moments. */
const SLACK_MS = 50;

export class ActivityWindows {
  private readonly windows: ActivityWindow[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** The invoker the engine should call: the same functions, with each activity's window recorded. */
  observe(invoker: FunctionInvoker): FunctionInvoker {
    return {
      functions: () => invoker.functions(),
      invokeOrchestrator: (name, payload) => invoker.invokeOrchestrator(name, payload),
      // Entities pass straight through: without this the engine could not run any entity operation.
      ...(invoker.invokeEntity ? { invokeEntity: invoker.invokeEntity.bind(invoker) } : {}),
      invokeActivity: async (functionName, input, instanceId) => {
        const window: ActivityWindow = {
          instanceId,
          functionName,
          startMs: this.now(),
          endMs: undefined,
        };
        this.windows.push(window);
        if (this.windows.length > MAX_WINDOWS)
          this.windows.splice(0, this.windows.length - MAX_WINDOWS);
        try {
          return await invoker.invokeActivity(functionName, input, instanceId);
        } finally {
          window.endMs = this.now();
        }
      },
    };
  }

  /** Instances with an activity running at `atMs`, newest first, without repeats. */
  instancesActiveAt(atMs: number): string[] {
    const ids: string[] = [];
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const w = this.windows[i]!;
      const end = w.endMs ?? Number.POSITIVE_INFINITY;
      if (w.startMs - SLACK_MS <= atMs && atMs <= end + SLACK_MS && !ids.includes(w.instanceId)) {
        ids.push(w.instanceId);
      }
    }
    return ids;
  }
}

/** Fewer shown characters than this say too little about a recipient to link anything by. */
const MIN_SHOWN_OF_MASK = 4;

/**
 * True when `value` (an instance input) contains `phone` as a string anywhere: the number (or address)
 * itself, or a mask of it with `*` for the hidden characters (`+1******0100`, `a***@e***.com`).
 */
export function mentions(value: unknown, phone: string): boolean {
  if (typeof value === 'string') return value === phone || isMaskOf(value, phone);
  if (Array.isArray(value)) return value.some((v) => mentions(v, phone));
  if (typeof value === 'object' && value !== null)
    return Object.values(value).some((v) => mentions(v, phone));
  return false;
}

/** A run of `*` stands for any characters; what the mask shows must match, and it must show enough. */
function isMaskOf(mask: string, recipient: string): boolean {
  if (!mask.includes('*') || mask.replace(/\*/g, '').length < MIN_SHOWN_OF_MASK) return false;
  const pattern = mask
    .split(/\*+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
  return new RegExp(`^${pattern}$`).test(recipient);
}
