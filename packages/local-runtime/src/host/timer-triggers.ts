/**
 * `timerTrigger` functions, driven by the runtime's Clock (so tests can move time): NCRONTAB schedules
 * (`{second} {minute} {hour} {day} {month} {day-of-week}`, UTC) or `hh:mm:ss` intervals, `%Setting%`
 * references and `runOnStartup`. The trigger value is the host's `TimerInfo` JSON
 * (`Schedule`, `ScheduleStatus`, `IsPastDue`), which the library camel-cases.
 */
import type { Clock } from '../contracts';
import type { RegisteredFunction } from './core-api';
import type { FunctionHost } from './function-host';
import type { HostLog } from './logger';

export class ScheduleError extends Error {}

type FieldSet = ReadonlySet<number>;

interface CronSchedule {
  readonly kind: 'cron';
  readonly seconds: FieldSet;
  readonly minutes: FieldSet;
  readonly hours: FieldSet;
  readonly days: FieldSet;
  readonly months: FieldSet;
  readonly weekdays: FieldSet;
  readonly dayWildcard: boolean;
  readonly weekdayWildcard: boolean;
}

interface IntervalSchedule {
  readonly kind: 'interval';
  readonly ms: number;
}

export type Schedule = CronSchedule | IntervalSchedule;

const MONTH_NAMES = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseValue(text: string, names: readonly string[] | undefined, offset: number): number {
  const upper = text.toUpperCase();
  const index = names ? names.indexOf(upper) : -1;
  if (index >= 0) {
    return index + offset;
  }
  if (!/^\d+$/.test(text)) {
    throw new ScheduleError(`"${text}" is not a number`);
  }
  return Number(text);
}

function parseField(
  text: string,
  min: number,
  max: number,
  names?: readonly string[],
  nameOffset = 0,
): FieldSet {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) {
      throw new ScheduleError(`invalid step in "${part}"`);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = parseValue(a, names, nameOffset);
      to = parseValue(b, names, nameOffset);
    } else {
      from = parseValue(range, names, nameOffset);
      to = stepText === undefined ? from : max;
    }
    if (from < min || to > max || from > to) {
      throw new ScheduleError(`"${part}" is out of range ${min}-${max}`);
    }
    for (let v = from; v <= to; v += step) {
      values.add(v);
    }
  }
  return values;
}

export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim();
  const interval = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(trimmed);
  if (interval) {
    const [, d = '0', h = '0', m = '0', s = '0'] = interval;
    const ms = (((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
    if (ms <= 0) {
      throw new ScheduleError('the interval must be positive');
    }
    return { kind: 'interval', ms };
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleError(`"${text}" is not an NCRONTAB expression with six fields`);
  }
  const [sec = '', min = '', hour = '', day = '', month = '', weekday = ''] = fields;
  const weekdays = new Set([...parseField(weekday, 0, 7, DAY_NAMES)].map((d) => d % 7));
  return {
    kind: 'cron',
    seconds: parseField(sec, 0, 59),
    minutes: parseField(min, 0, 59),
    hours: parseField(hour, 0, 23),
    days: parseField(day, 1, 31),
    months: parseField(month, 1, 12, MONTH_NAMES, 1),
    weekdays,
    dayWildcard: day === '*' || day === '?',
    weekdayWildcard: weekday === '*' || weekday === '?',
  };
}

function dayMatches(s: CronSchedule, date: Date): boolean {
  const dom = s.days.has(date.getUTCDate());
  const dow = s.weekdays.has(date.getUTCDay());
  // Cron semantics: when both day fields are restricted, either one matching is enough.
  if (!s.dayWildcard && !s.weekdayWildcard) return dom || dow;
  return dom && dow;
}

/** The first occurrence strictly after `after`. */
export function nextOccurrence(schedule: Schedule, after: Date): Date {
  if (schedule.kind === 'interval') {
    return new Date(after.getTime() + schedule.ms);
  }
  const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const limit = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!schedule.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else if (!schedule.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
    } else {
      return t;
    }
  }
  throw new ScheduleError('the schedule has no occurrence in the next five years');
}

function resolveSetting(value: string, settings: Readonly<Record<string, string>>): string {
  const match = /^%([^%]+)%$/.exec(value.trim());
  if (!match) return value;
  const resolved = settings[match[1]!] ?? process.env[match[1]!];
  if (resolved === undefined) {
    throw new ScheduleError(`the app setting ${match[1]!} is not defined`);
  }
  return resolved;
}

interface TimerEntry {
  readonly fn: RegisteredFunction;
  readonly schedule: Schedule;
  readonly adjustForDst: boolean;
  cancel?: () => void;
  last?: Date;
  running?: Promise<void>;
}

/** Runs every `timerTrigger` function of the app on the clock. */
export class TimerTriggers {
  private readonly entries: TimerEntry[] = [];
  private readonly pendingStartup: string[] = [];
  private stopped = false;

  constructor(
    private readonly host: FunctionHost,
    private readonly clock: Clock,
    private readonly log: HostLog,
    settings: Readonly<Record<string, string>>,
    disabled: ReadonlySet<string> = new Set(),
  ) {
    for (const fn of host.registered) {
      if (disabled.has(fn.metadata.name)) continue;
      const trigger = Object.values(fn.metadata.bindings).find(
        (b) => b.type.toLowerCase() === 'timertrigger',
      );
      if (!trigger) continue;
      const raw = typeof trigger.schedule === 'string' ? trigger.schedule : '';
      try {
        const schedule = parseSchedule(resolveSetting(raw, settings));
        this.entries.push({ fn, schedule, adjustForDst: schedule.kind === 'cron' });
        if (trigger.runOnStartup === true) {
          this.pendingStartup.push(fn.metadata.name);
        }
      } catch (e) {
        log(
          'error',
          `The timer function '${fn.metadata.name}' has an invalid schedule "${raw}": ${e instanceof Error ? e.message : String(e)}. It will not run.`,
        );
      }
    }
  }

  /** Names and next occurrences, for the banner. */
  describe(): { name: string; next: Date }[] {
    const now = this.clock.now();
    return this.entries.map((e) => ({
      name: e.fn.metadata.name,
      next: nextOccurrence(e.schedule, now),
    }));
  }

  start(): void {
    for (const entry of this.entries) {
      if (this.pendingStartup.includes(entry.fn.metadata.name)) {
        this.fire(entry, this.clock.now());
      } else {
        this.arm(entry);
      }
    }
  }

  private arm(entry: TimerEntry): void {
    if (this.stopped) return;
    const due = nextOccurrence(entry.schedule, entry.last ?? this.clock.now());
    entry.cancel = this.clock.wakeAt(due, () => this.fire(entry, due));
  }

  private fire(entry: TimerEntry, due: Date): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const next = nextOccurrence(entry.schedule, due);
    const timerInfo = {
      Schedule: { AdjustForDST: entry.adjustForDst },
      ScheduleStatus: {
        Last: (entry.last ?? new Date(0)).toISOString(),
        Next: next.toISOString(),
        LastUpdated: now.toISOString(),
      },
      // Past due when the clock is already past the following occurrence (e.g. after a long pause).
      IsPastDue: now.getTime() > next.getTime(),
    };
    entry.last = due;
    entry.running = this.host
      .invokeTimer(entry.fn, timerInfo)
      .then((outcome) => {
        if (!outcome.ok) {
          this.log(
            'error',
            `Executed 'Functions.${entry.fn.metadata.name}' (Failed): ${outcome.message}`,
          );
        }
      })
      .finally(() => {
        entry.running = undefined;
        this.arm(entry);
      });
  }

  /**
   * Runs a timer function now, out of schedule (the host's `POST /admin/functions/{name}`); resolves when it
   * finished. Undefined when `name` is not an active timer function.
   */
  async runNow(name: string): Promise<{ ok: boolean } | undefined> {
    const entry = this.entries.find((e) => e.fn.metadata.name.toLowerCase() === name.toLowerCase());
    if (!entry || this.stopped) return undefined;
    const now = this.clock.now();
    const outcome = await this.host.invokeTimer(entry.fn, {
      Schedule: { AdjustForDST: entry.adjustForDst },
      ScheduleStatus: {
        Last: (entry.last ?? new Date(0)).toISOString(),
        Next: nextOccurrence(entry.schedule, now).toISOString(),
        LastUpdated: now.toISOString(),
      },
      IsPastDue: false,
    });
    if (!outcome.ok) {
      this.log(
        'error',
        `Executed 'Functions.${entry.fn.metadata.name}' (Failed): ${outcome.message}`,
      );
    }
    return { ok: outcome.ok };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries) {
      entry.cancel?.();
    }
    await Promise.all(this.entries.map((e) => e.running ?? Promise.resolve()));
  }
}
