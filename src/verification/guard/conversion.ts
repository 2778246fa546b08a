import { ForbiddenError } from '../../errors';
import type { GuardLogger } from './velocity';
import type { RowStore, StoredRow } from './row-store';
import type { ConversionMode, ConversionSettings } from './settings';
import { GUARD_REASONS } from './errors';

/**
 * Conversion-based blocking (issue 22), as Twilio's Fraud Guard does it: codes sent and
 * verifications completed are counted per number prefix and per country over a sliding window,
 * shared by every instance through Table Storage. A subject whose conversion (completed ÷ sent)
 * falls below the threshold once it has the minimum sends is blocked for a period (`on`), or only
 * logged and counted as if it were (`dry-run`). Numbers on the safe list are neither counted nor
 * refused. Counters are the whole state: rows keyed by the prefix or country itself (ranges of
 * numbers, not a person's number), written ETag-conditionally.
 */

/** One slice of the window. */
export interface ConversionSlot {
  readonly start: number;
  readonly sends: number;
  readonly completions: number;
}

export interface ConversionState {
  readonly slots: readonly ConversionSlot[];
  /** Epoch ms; 0 when no block (or dry-run block) was ever decided. */
  readonly blockedUntil: number;
  /** The mode in force when the block was decided: a dry-run block never refuses. */
  readonly blockMode: Exclude<ConversionMode, 'off'> | undefined;
  /** What the counts were when the block was decided, for the report. */
  readonly blockSends: number;
  readonly blockCompletions: number;
  /** Sends a dry-run block would have refused. */
  readonly dryRunRefusals: number;
}

export type SubjectKind = 'prefix' | 'country';

export interface ConversionSubject {
  readonly kind: SubjectKind;
  /** `+142555` or `US` (`none` for non-geographic numbers). */
  readonly value: string;
  readonly key: string;
  readonly minSends: number;
}

/** What `admit` found, handed back to `recordSend` so the send costs one conditional write. */
export interface Admission {
  readonly subjects: readonly ConversionSubject[];
  readonly rows: ReadonlyMap<string, StoredRow>;
  /** Subjects under a dry-run block: counted as refusals that did not happen. */
  readonly dryRunHits: readonly string[];
  /** Mode `on` and a block holds: the refusal to throw (the caller logs it). */
  readonly refusal?: ConversionBlockedError;
}

export interface ConversionReportRow {
  readonly kind: SubjectKind;
  readonly subject: string;
  readonly sends: number;
  readonly completions: number;
  /** Percent, or null before any send in the window. */
  readonly conversionPercent: number | null;
  readonly blocked: boolean;
  readonly blockMode: Exclude<ConversionMode, 'off'> | null;
  readonly blockedUntil: string | null;
  readonly dryRunRefusals: number;
}

export interface ConversionReport {
  readonly mode: ConversionMode;
  readonly rows: readonly ConversionReportRow[];
}

export interface ConversionGuardDeps {
  readonly store: RowStore;
  readonly settings: ConversionSettings;
  readonly now: () => Date;
  readonly logger: GuardLogger;
}

const SLOTS_PER_WINDOW = 12;
const MAX_ATTEMPTS = 8;
const EMPTY: ConversionState = {
  slots: [],
  blockedUntil: 0,
  blockMode: undefined,
  blockSends: 0,
  blockCompletions: 0,
  dryRunRefusals: 0,
};

/** 403 with `Retry-After`: the number's prefix or country converts too poorly; nothing was sent. */
export class ConversionBlockedError extends ForbiddenError {
  readonly reason = GUARD_REASONS.conversionBlocked;

  constructor(
    readonly subject: SubjectKind,
    /** The prefix or country, for the log line; not part of the answer. */
    readonly subjectValue: string,
    retryAfterSeconds: number,
  ) {
    super('Verification codes are not sent to these phone numbers at the moment.', {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }

  override extensions(): Record<string, unknown> {
    return { reason: this.reason, blocked: this.subject };
  }
}

export class ConversionGuard {
  constructor(private readonly deps: ConversionGuardDeps) {}

  get mode(): ConversionMode {
    return this.deps.settings.mode;
  }

  /** The prefix and country of a number; none for safe-listed numbers or mode `off`. */
  subjectsFor(e164: string, country: string | undefined): ConversionSubject[] {
    const { settings } = this.deps;
    if (settings.mode === 'off' || settings.safeList.some((entry) => e164.startsWith(entry))) {
      return [];
    }
    const prefix = e164.slice(0, Math.min(e164.length - 1, settings.prefixDigits + 1));
    const countryValue = country ?? 'none';
    return [
      { kind: 'prefix', value: prefix, key: `p-${prefix}`, minSends: settings.prefixMinSends },
      {
        kind: 'country',
        value: countryValue,
        key: `c-${countryValue}`,
        minSends: settings.countryMinSends,
      },
    ];
  }

  /**
   * Reads the number's counters. A block of its prefix or country decided in mode `on` comes
   * back as `refusal` (the caller throws it unless the number's owner is exempt); under a dry-run
   * block the refusal is logged and noted for `recordSend`, which counts it.
   */
  async admit(e164: string, country: string | undefined): Promise<Admission> {
    const subjects = this.subjectsFor(e164, country);
    if (subjects.length === 0) return { subjects, rows: new Map(), dryRunHits: [] };
    const rows = await this.deps.store.read(subjects.map((s) => s.key));
    const now = this.deps.now().getTime();
    const dryRunHits: string[] = [];
    let refusal: ConversionBlockedError | undefined;
    for (const subject of subjects) {
      const state = stateOf(rows.get(subject.key));
      if (state.blockedUntil <= now) continue;
      const retryAfter = Math.max(1, Math.ceil((state.blockedUntil - now) / 1000));
      if (state.blockMode === 'on' && this.mode === 'on') {
        refusal ??= new ConversionBlockedError(subject.kind, subject.value, retryAfter);
      } else if (state.blockMode === 'dry-run' || this.mode === 'dry-run') {
        this.deps.logger.warn(
          `Fraud guard dry-run: ${GUARD_REASONS.conversionBlocked} would refuse this send (${subject.kind} ${subject.value})`,
        );
        dryRunHits.push(subject.key);
      }
    }
    return { subjects, rows, dryRunHits, ...(refusal === undefined ? {} : { refusal }) };
  }

  /** Counts one send admitted by every rule; may decide a block for the next ones. */
  async recordSend(admission: Admission): Promise<void> {
    if (admission.subjects.length === 0) return;
    await this.update(admission.subjects, admission.rows, (subject, state, now) => {
      const counted = addToSlot(this.pruned(state, now), now, this.slotMs(), 1, 0);
      const hit = admission.dryRunHits.includes(subject.key);
      const withHit = hit ? { ...counted, dryRunRefusals: counted.dryRunRefusals + 1 } : counted;
      return this.maybeBlock(subject, withHit, now);
    });
  }

  /** Counts one completed verification of a number (called once its code was approved). */
  async recordCompletion(e164: string, country: string | undefined): Promise<void> {
    const subjects = this.subjectsFor(e164, country);
    if (subjects.length === 0) return;
    const rows = await this.deps.store.read(subjects.map((s) => s.key));
    await this.update(subjects, rows, (_subject, state, now) =>
      addToSlot(this.pruned(state, now), now, this.slotMs(), 0, 1),
    );
  }

  /** Every counted prefix and country, blocked ones first. */
  async report(limit = 500): Promise<ConversionReport> {
    const now = this.deps.now().getTime();
    const rows = (await this.deps.store.list(limit)).map(({ key, state: raw }) => {
      const state = this.pruned(readState(raw), now);
      const { sends, completions } = totals(state);
      const blocked = state.blockedUntil > now;
      return {
        kind: key.startsWith('p-') ? 'prefix' : 'country',
        subject: key.slice(2),
        sends: blocked && sends === 0 ? state.blockSends : sends,
        completions: blocked && sends === 0 ? state.blockCompletions : completions,
        conversionPercent: null,
        blocked,
        blockMode: blocked ? (state.blockMode ?? null) : null,
        blockedUntil: blocked ? new Date(state.blockedUntil).toISOString() : null,
        dryRunRefusals: state.dryRunRefusals,
      } satisfies ConversionReportRow;
    });
    const withRates = rows.map((row) => ({
      ...row,
      conversionPercent:
        row.sends === 0 ? null : Math.round((1000 * row.completions) / row.sends) / 10,
    }));
    withRates.sort((a, b) => Number(b.blocked) - Number(a.blocked) || b.sends - a.sends);
    return { mode: this.mode, rows: withRates };
  }

  private maybeBlock(
    subject: ConversionSubject,
    state: ConversionState,
    now: number,
  ): ConversionState {
    if (state.blockedUntil > now || this.mode === 'off') return state;
    const { sends, completions } = totals(state);
    const { minConversionPercent, blockHours } = this.deps.settings;
    if (sends < subject.minSends || completions * 100 >= minConversionPercent * sends) {
      return state;
    }
    const mode = this.mode;
    this.deps.logger.warn(
      mode === 'on'
        ? `Fraud guard blocked ${subject.kind} ${subject.value} for ${blockHours} h: ${completions} of ${sends} codes verified`
        : `Fraud guard dry-run: would block ${subject.kind} ${subject.value} for ${blockHours} h: ${completions} of ${sends} codes verified`,
    );
    // The counts start again after the block: a prefix gets a fresh chance once it ends.
    return {
      ...state,
      slots: [],
      blockedUntil: now + blockHours * 3_600_000,
      blockMode: mode,
      blockSends: sends,
      blockCompletions: completions,
    };
  }

  /** Applies `change` to every subject's row in one conditional transaction, re-reading on conflict. */
  private async update(
    subjects: readonly ConversionSubject[],
    initial: ReadonlyMap<string, StoredRow>,
    change: (subject: ConversionSubject, state: ConversionState, now: number) => ConversionState,
  ): Promise<void> {
    let rows = initial;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const now = this.deps.now().getTime();
      const writes = subjects.map((subject) => {
        const stored = rows.get(subject.key);
        const state = change(subject, stateOf(stored), now);
        const expiresAt = new Date(Math.max(now + this.windowMs(), state.blockedUntil));
        return { key: subject.key, state, etag: stored?.etag, expiresAt };
      });
      if ((await this.deps.store.write(writes)) === 'ok') return;
      rows = await this.deps.store.read(subjects.map((s) => s.key));
    }
    throw new Error('conversion counters stayed contended');
  }

  private windowMs(): number {
    return this.deps.settings.windowHours * 3_600_000;
  }

  private slotMs(): number {
    return this.windowMs() / SLOTS_PER_WINDOW;
  }

  private pruned(state: ConversionState, now: number): ConversionState {
    const oldest = now - this.windowMs();
    return { ...state, slots: state.slots.filter((slot) => slot.start + this.slotMs() > oldest) };
  }
}

function stateOf(row: StoredRow | undefined): ConversionState {
  return row === undefined ? EMPTY : readState(row.state);
}

/** A row that does not look like counters counts as empty (its write then conflicts or replaces it). */
function readState(raw: unknown): ConversionState {
  if (typeof raw !== 'object' || raw === null) return EMPTY;
  const r = raw as Partial<Record<keyof ConversionState, unknown>>;
  const num = (value: unknown): number =>
    typeof value === 'number' && Number.isFinite(value) ? value : 0;
  const slots = Array.isArray(r.slots)
    ? r.slots.filter(
        (slot): slot is ConversionSlot =>
          typeof slot === 'object' &&
          slot !== null &&
          typeof (slot as ConversionSlot).start === 'number' &&
          typeof (slot as ConversionSlot).sends === 'number' &&
          typeof (slot as ConversionSlot).completions === 'number',
      )
    : [];
  return {
    slots,
    blockedUntil: num(r.blockedUntil),
    blockMode: r.blockMode === 'on' || r.blockMode === 'dry-run' ? r.blockMode : undefined,
    blockSends: num(r.blockSends),
    blockCompletions: num(r.blockCompletions),
    dryRunRefusals: num(r.dryRunRefusals),
  };
}

function addToSlot(
  state: ConversionState,
  now: number,
  slotMs: number,
  sends: number,
  completions: number,
): ConversionState {
  const start = Math.floor(now / slotMs) * slotMs;
  const existing = state.slots.find((slot) => slot.start === start);
  const others = state.slots.filter((slot) => slot !== existing);
  const slot: ConversionSlot = {
    start,
    sends: (existing?.sends ?? 0) + sends,
    completions: (existing?.completions ?? 0) + completions,
  };
  return { ...state, slots: [...others, slot] };
}

function totals(state: ConversionState): { sends: number; completions: number } {
  let sends = 0;
  let completions = 0;
  for (const slot of state.slots) {
    sends += slot.sends;
    completions += slot.completions;
  }
  return { sends, completions };
}
