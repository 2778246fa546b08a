import type { TableClient } from '@azure/data-tables';
import { storageFailure, tableClientFor, type StorageAccess } from '../storage/table-storage';

/**
 * The Verify API's records in one table of the app's storage (shared by every instance of the
 * app): services, API keys (their secrets hashed) and, per service, the pending verification of
 * each number (keyed by an HMAC of the number, never the number itself).
 */
export interface ServiceRecord {
  readonly sid: string;
  readonly friendlyName: string;
  readonly codeLength: number;
  readonly lookupEnabled: boolean;
  readonly skipSmsToLandlines: boolean;
  readonly dtmfInputRequired: boolean;
  readonly ttsName: string | null;
  readonly psd2Enabled: boolean;
  readonly doNotShareWarningEnabled: boolean;
  readonly customCodeEnabled: boolean;
  readonly defaultTemplateSid: string | null;
  readonly verifyEventSubscriptionEnabled: boolean;
  readonly dateCreated: string;
  readonly dateUpdated: string;
}

export interface ApiKeyRecord {
  readonly sid: string;
  readonly friendlyName: string;
  /** SHA-256 of the secret (hex): the secret itself is shown once, at creation. */
  readonly secretHash: string;
  readonly dateCreated: string;
  readonly dateUpdated: string;
}

/** One send of a code (Verify's VerificationAttempt): the number only masked, with its prefix. */
export interface AttemptRecord {
  readonly sid: string;
  readonly serviceSid: string;
  readonly verificationSid: string;
  readonly channel: string;
  /** ISO country of the number, '' when non-geographic. */
  readonly country: string;
  /** `+` and the first digits of the number (the fraud guard's prefix). */
  readonly prefix: string;
  readonly maskedTo: string;
  readonly conversionStatus: 'converted' | 'unconverted';
  readonly dateCreated: string;
  readonly dateUpdated: string;
}

/** Filters of `GET /v2/Attempts` and `/Attempts/Summary`; values already validated. */
export interface AttemptFilter {
  readonly serviceSid?: string;
  readonly verificationSid?: string;
  readonly channel?: string;
  readonly country?: string;
  readonly prefix?: string;
  readonly status?: 'converted' | 'unconverted';
  readonly after?: string;
  readonly before?: string;
}

/** One bucket of a rate limit: at most `max` sends per value within `interval` seconds. */
export interface BucketRecord {
  readonly sid: string;
  readonly max: number;
  readonly interval: number;
  readonly dateCreated: string;
  readonly dateUpdated: string;
}

/** A programmable rate limit of a service: the key a verification names in `RateLimits`. */
export interface RateLimitRecord {
  readonly sid: string;
  readonly uniqueName: string;
  readonly description: string | null;
  readonly dateCreated: string;
  readonly dateUpdated: string;
  readonly buckets: readonly BucketRecord[];
}

/**
 * Every rate limit of one service with its buckets, in one row: the counts are small (see
 * `rate-limits.ts`), so uniqueness and the caps hold with one ETag-conditional write, and a
 * verification reads the whole set with one point read.
 */
export interface RateLimitSet {
  readonly rateLimits: readonly RateLimitRecord[];
  /** The row's ETag; undefined while the service has none. */
  readonly etag: string | undefined;
}

export interface PendingRecord {
  readonly verificationSid: string;
  readonly etag: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken: string | undefined;
}

export interface VerifyStore {
  createService(service: ServiceRecord): Promise<void>;
  getService(sid: string): Promise<ServiceRecord | undefined>;
  replaceService(service: ServiceRecord): Promise<void>;
  deleteService(sid: string): Promise<boolean>;
  listServices(pageSize: number, token: string | undefined): Promise<Page<ServiceRecord>>;
  createKey(key: ApiKeyRecord): Promise<void>;
  getKey(sid: string): Promise<ApiKeyRecord | undefined>;
  deleteKey(sid: string): Promise<boolean>;
  listKeys(pageSize: number, token: string | undefined): Promise<Page<ApiKeyRecord>>;
  getPending(serviceSid: string, toKey: string): Promise<PendingRecord | undefined>;
  getRateLimits(serviceSid: string): Promise<RateLimitSet>;
  /** Writes the set if the row is unchanged since `etag` was read; false when it changed. */
  replaceRateLimits(
    serviceSid: string,
    rateLimits: readonly RateLimitRecord[],
    etag: string | undefined,
  ): Promise<boolean>;
  /** Removes a service's rate limits with their buckets (the service is being deleted). */
  deleteRateLimits(serviceSid: string): Promise<void>;
  recordAttempt(attempt: AttemptRecord): Promise<void>;
  /** Marks every attempt of the verification converted. */
  convertAttempts(verificationSid: string, at: string): Promise<void>;
  getAttempt(sid: string): Promise<AttemptRecord | undefined>;
  listAttempts(
    filter: AttemptFilter,
    pageSize: number,
    token: string | undefined,
  ): Promise<Page<AttemptRecord>>;
  /**
   * Points the number's pending slot at `verificationSid`: creates it when `etag` is undefined,
   * else replaces the row only if unchanged. False when another request won the race.
   */
  claimPending(
    serviceSid: string,
    toKey: string,
    verificationSid: string,
    etag: string | undefined,
  ): Promise<boolean>;
}

const SERVICES = 'service';
const KEYS = 'apikey';
const ATTEMPTS = 'attempt';
const RATE_LIMITS = 'ratelimits';
const pendingPartition = (serviceSid: string): string => `pending-${serviceSid}`;

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

/**
 * Services are read on every create and check: each instance keeps what it read for a few seconds
 * (its own writes at once), so another instance's update shows within {@link SERVICE_CACHE_MS}.
 */
const SERVICE_CACHE_MS = 10_000;
const MAX_CACHED_SERVICES = 1000;
const KEY_CACHE_MS = 30_000;

export class TableVerifyStore implements VerifyStore {
  private ready: Promise<void> | undefined;
  private readonly services = new Map<string, { service: ServiceRecord; until: number }>();
  /** Found keys, read on every request they sign: a revocation elsewhere shows within the TTL. */
  private readonly keys = new Map<string, { key: ApiKeyRecord; until: number }>();

  constructor(
    private readonly table: TableClient,
    private readonly timeoutMs = 5000,
  ) {}

  static create(storage: StorageAccess, tableName: string): TableVerifyStore {
    return new TableVerifyStore(
      tableClientFor(storage, tableName, {
        retryOptions: { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 1000 },
      }),
    );
  }

  async createService(service: ServiceRecord): Promise<void> {
    await this.ensureTable();
    await this.table.createEntity(
      { partitionKey: SERVICES, rowKey: service.sid, ...withoutNulls(service) },
      this.options(),
    );
    this.remember(service);
  }

  async getService(sid: string): Promise<ServiceRecord | undefined> {
    const cached = this.services.get(sid);
    if (cached !== undefined && cached.until > Date.now()) return cached.service;
    const row = await this.read(SERVICES, sid);
    const service = row === undefined ? undefined : toService(row);
    if (service === undefined) this.services.delete(sid);
    else this.remember(service);
    return service;
  }

  private remember(service: ServiceRecord): void {
    if (this.services.size >= MAX_CACHED_SERVICES) this.services.clear();
    this.services.set(service.sid, { service, until: Date.now() + SERVICE_CACHE_MS });
  }

  async replaceService(service: ServiceRecord): Promise<void> {
    await this.ensureTable();
    await this.table.upsertEntity(
      { partitionKey: SERVICES, rowKey: service.sid, ...withoutNulls(service) },
      'Replace',
      this.options(),
    );
    this.remember(service);
  }

  deleteService(sid: string): Promise<boolean> {
    this.services.delete(sid);
    return this.remove(SERVICES, sid);
  }

  async listServices(pageSize: number, token: string | undefined): Promise<Page<ServiceRecord>> {
    return this.list(SERVICES, pageSize, token, toService);
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    await this.ensureTable();
    await this.table.createEntity({ partitionKey: KEYS, rowKey: key.sid, ...key }, this.options());
  }

  async getKey(sid: string): Promise<ApiKeyRecord | undefined> {
    const cached = this.keys.get(sid);
    if (cached !== undefined && cached.until > Date.now()) return cached.key;
    this.keys.delete(sid);
    const row = await this.read(KEYS, sid);
    if (row === undefined) return undefined;
    const key = toKey(row);
    if (this.keys.size >= MAX_CACHED_SERVICES) this.keys.clear();
    this.keys.set(sid, { key, until: Date.now() + KEY_CACHE_MS });
    return key;
  }

  deleteKey(sid: string): Promise<boolean> {
    this.keys.delete(sid);
    return this.remove(KEYS, sid);
  }

  listKeys(pageSize: number, token: string | undefined): Promise<Page<ApiKeyRecord>> {
    return this.list(KEYS, pageSize, token, toKey);
  }

  async recordAttempt(attempt: AttemptRecord): Promise<void> {
    await this.ensureTable();
    // Upsert: an at-least-once re-run of the same send writes the same row.
    await this.table.upsertEntity(
      { partitionKey: ATTEMPTS, rowKey: attempt.sid, ...attempt },
      'Replace',
      this.options(),
    );
  }

  async convertAttempts(verificationSid: string, at: string): Promise<void> {
    const page = await this.listAttempts({ verificationSid }, 100, undefined);
    await Promise.all(
      page.items
        .filter((attempt) => attempt.conversionStatus !== 'converted')
        .map((attempt) =>
          this.table.updateEntity(
            {
              partitionKey: ATTEMPTS,
              rowKey: attempt.sid,
              conversionStatus: 'converted',
              dateUpdated: at,
            },
            'Merge',
            this.options(),
          ),
        ),
    );
  }

  async getAttempt(sid: string): Promise<AttemptRecord | undefined> {
    const row = await this.read(ATTEMPTS, sid);
    return row === undefined ? undefined : toAttempt(row);
  }

  listAttempts(
    filter: AttemptFilter,
    pageSize: number,
    token: string | undefined,
  ): Promise<Page<AttemptRecord>> {
    return this.list(ATTEMPTS, pageSize, token, toAttempt, attemptFilter(filter));
  }

  async getPending(serviceSid: string, toKey: string): Promise<PendingRecord | undefined> {
    const row = await this.read(pendingPartition(serviceSid), toKey);
    if (row === undefined || typeof row.verificationSid !== 'string') return undefined;
    return { verificationSid: row.verificationSid, etag: String(row.etag) };
  }

  async claimPending(
    serviceSid: string,
    toKey: string,
    verificationSid: string,
    etag: string | undefined,
  ): Promise<boolean> {
    return this.claim(
      { partitionKey: pendingPartition(serviceSid), rowKey: toKey, verificationSid },
      etag,
    );
  }

  /** Creates the row when `etag` is undefined, else replaces it only if unchanged; false on a race. */
  private async claim(entity: Row, etag: string | undefined): Promise<boolean> {
    await this.ensureTable();
    try {
      if (etag === undefined) await this.table.createEntity(entity, this.options());
      else await this.table.updateEntity(entity, 'Replace', { ...this.options(), etag });
      return true;
    } catch (error: unknown) {
      const { status } = storageFailure(error);
      if (status === 409 || status === 412) return false;
      throw error;
    }
  }

  async getRateLimits(serviceSid: string): Promise<RateLimitSet> {
    const row = await this.read(RATE_LIMITS, serviceSid);
    if (row === undefined) return { rateLimits: [], etag: undefined };
    return { rateLimits: toRateLimits(row.rateLimits), etag: String(row.etag) };
  }

  async replaceRateLimits(
    serviceSid: string,
    rateLimits: readonly RateLimitRecord[],
    etag: string | undefined,
  ): Promise<boolean> {
    return this.claim(
      { partitionKey: RATE_LIMITS, rowKey: serviceSid, rateLimits: JSON.stringify(rateLimits) },
      etag,
    );
  }

  async deleteRateLimits(serviceSid: string): Promise<void> {
    await this.remove(RATE_LIMITS, serviceSid);
  }

  private async read(partitionKey: string, rowKey: string): Promise<Row | undefined> {
    await this.ensureTable();
    try {
      return await this.table.getEntity<Row>(partitionKey, rowKey, this.options());
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return undefined;
      throw error;
    }
  }

  private async remove(partitionKey: string, rowKey: string): Promise<boolean> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(partitionKey, rowKey, this.options());
      return true;
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return false;
      throw error;
    }
  }

  private async list<T>(
    partitionKey: string,
    pageSize: number,
    token: string | undefined,
    map: (row: Row) => T,
    extraFilter = '',
  ): Promise<Page<T>> {
    await this.ensureTable();
    const pages = this.table
      .listEntities<Row>({
        queryOptions: { filter: `PartitionKey eq '${partitionKey}'${extraFilter}` },
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      })
      .byPage({
        maxPageSize: pageSize,
        ...(token === undefined ? {} : { continuationToken: token }),
      });
    const next = await pages.next();
    if (next.done === true) return { items: [], nextToken: undefined };
    const page = next.value;
    return {
      items: page.map((row) => map(row as Row)),
      nextToken: page.continuationToken ?? undefined,
    };
  }

  private options(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) };
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.table
      .createTable({ abortSignal: AbortSignal.timeout(this.timeoutMs) })
      .catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }
}

/** The named properties of a row as text (our own rows always hold them). */
function texts<K extends string>(row: Row, keys: readonly K[]): Record<K, string> {
  return Object.fromEntries(keys.map((key) => [key, String(row[key])])) as Record<K, string>;
}

/** The named properties of a row as flags: true only when stored true. */
function flags<K extends string>(row: Row, keys: readonly K[]): Record<K, boolean> {
  return Object.fromEntries(keys.map((key) => [key, row[key] === true])) as Record<K, boolean>;
}

/** A property Table Storage holds only when not null. */
function textOrNull(row: Row, key: string): string | null {
  const value = row[key];
  return typeof value === 'string' ? value : null;
}

function toService(row: Row): ServiceRecord {
  return {
    ...texts(row, ['sid', 'friendlyName', 'dateCreated', 'dateUpdated']),
    ...flags(row, [
      'lookupEnabled',
      'skipSmsToLandlines',
      'dtmfInputRequired',
      'psd2Enabled',
      'doNotShareWarningEnabled',
      'customCodeEnabled',
      'verifyEventSubscriptionEnabled',
    ]),
    codeLength: Number(row.codeLength),
    ttsName: textOrNull(row, 'ttsName'),
    defaultTemplateSid: textOrNull(row, 'defaultTemplateSid'),
  };
}

function toKey(row: Row): ApiKeyRecord {
  return texts(row, ['sid', 'friendlyName', 'secretHash', 'dateCreated', 'dateUpdated']);
}

function toAttempt(row: Row): AttemptRecord {
  return {
    ...texts(row, [
      'sid',
      'serviceSid',
      'verificationSid',
      'channel',
      'prefix',
      'maskedTo',
      'dateCreated',
      'dateUpdated',
    ]),
    country: textOrNull(row, 'country') ?? '',
    conversionStatus: row.conversionStatus === 'converted' ? 'converted' : 'unconverted',
  };
}

/** Our own JSON, read defensively: a row that does not parse holds no rate limits. */
function toRateLimits(value: unknown): RateLimitRecord[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? (parsed as RateLimitRecord[]) : [];
  } catch {
    return [];
  }
}

/** OData for the filters; every value was validated against a strict pattern, quotes doubled anyway. */
function attemptFilter(filter: AttemptFilter): string {
  const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
  const clauses: string[] = [];
  const equal = (field: string, value: string | undefined): void => {
    if (value !== undefined) clauses.push(`${field} eq ${quote(value)}`);
  };
  equal('serviceSid', filter.serviceSid);
  equal('verificationSid', filter.verificationSid);
  equal('channel', filter.channel);
  equal('country', filter.country);
  equal('conversionStatus', filter.status);
  if (filter.prefix !== undefined) {
    // Prefixes stored are the guard's; a shorter filter matches every longer one.
    clauses.push(`prefix ge ${quote(filter.prefix)} and prefix lt ${quote(`${filter.prefix}~`)}`);
  }
  if (filter.after !== undefined) clauses.push(`dateCreated ge ${quote(filter.after)}`);
  if (filter.before !== undefined) clauses.push(`dateCreated lt ${quote(filter.before)}`);
  return clauses.map((clause) => ` and ${clause}`).join('');
}

/** Table Storage has no null: an absent property reads back as null. */
function withoutNulls(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null));
}
