/**
 * The local services the app's hook names (`dashboard.services` in `local.services.cjs`: embedded or standalone
 * emulators), read through their `/_emulator/` inspection APIs. Only loopback URLs are ever called: a real
 * service is not asked.
 */
import type { DashboardService, OutboxPanel } from '../host/local-services';

export interface ServiceHealth {
  readonly name: string;
  readonly url: string | null;
  readonly status: 'ok' | 'down' | 'not configured';
  readonly detail: string;
}

/** One item of an outbox as the panel's fields read it (not yet redacted). */
export interface OutboxItem {
  readonly id: string;
  readonly recipient: string;
  readonly time: string;
  readonly text: string;
  readonly status: string | null;
}

/** An outbox panel and its newest items; `items` is null when its service is not configured or down. */
export interface OutboxContents {
  readonly panel: OutboxPanel;
  readonly items: readonly OutboxItem[] | null;
}

export interface AcsIdentitySummary {
  readonly id: string;
  readonly createdAt: string;
  readonly deleted: boolean;
  readonly tokensIssued: number;
  readonly revokedAt: string | null;
}

const TIMEOUT_MS = 2000;
/** The dashboard shows the newest items of each outbox; an emulator keeps up to 10 000. */
export const MAX_OUTBOX_ITEMS = 200;
const MAX_IDENTITIES = 500;

function isLoopbackOrigin(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** The strings at a dotted path (`spoken.text`), mapping over arrays on the way. */
function valuesAt(value: unknown, path: string): string[] {
  const [head, ...rest] = path.split('.');
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, path));
  if (head === undefined || head === '') {
    return typeof value === 'string' || typeof value === 'number' ? [String(value)] : [];
  }
  return valuesAt(record(value)[head], rest.join('.'));
}

const firstAt = (value: unknown, path: string): string | undefined => valuesAt(value, path)[0];

function outboxItem(panel: OutboxPanel, raw: unknown): OutboxItem {
  const f = panel.fields;
  return {
    id: firstAt(raw, f.id) ?? '',
    recipient: firstAt(raw, f.recipient) ?? '',
    time: firstAt(raw, f.time) ?? '',
    text: f.text
      .flatMap((path) => valuesAt(raw, path))
      .filter((t) => t !== '')
      .join(' — '),
    status: f.status === undefined ? null : (firstAt(raw, f.status) ?? null),
  };
}

export class ServiceInspector {
  private readonly services: readonly DashboardService[];

  constructor(services: readonly DashboardService[]) {
    this.services = services.map((s) => ({
      ...s,
      url: s.url !== undefined && isLoopbackOrigin(s.url) ? new URL(s.url).origin : undefined,
    }));
  }

  private urlOf(kind: 'identities'): string | undefined {
    return this.services.find((s) => s.url !== undefined && s.provides?.includes(kind))?.url;
  }

  async health(): Promise<ServiceHealth[]> {
    return Promise.all(
      this.services.map(async ({ name, url }): Promise<ServiceHealth> => {
        if (url === undefined)
          return {
            name,
            url: null,
            status: 'not configured',
            detail: 'no loopback URL in the settings',
          };
        try {
          const body = record(await getJson(`${url}/_emulator/health`));
          return {
            name,
            url,
            status: body.status === 'ok' ? 'ok' : 'down',
            detail: 'answers /_emulator/health',
          };
        } catch (e) {
          return {
            name,
            url,
            status: 'down',
            detail: e instanceof Error ? e.message : 'unreachable',
          };
        }
      }),
    );
  }

  /** Every outbox of every service, in the services' order; items newest first. */
  async outboxes(): Promise<OutboxContents[]> {
    const panels = this.services.flatMap((s) =>
      (s.outboxes ?? []).map((panel) => ({ url: s.url, panel })),
    );
    return Promise.all(
      panels.map(async ({ url, panel }): Promise<OutboxContents> => {
        if (url === undefined) return { panel, items: null };
        try {
          const list = record(await getJson(`${url}${panel.path}`))[panel.list];
          const match = panel.match;
          const matching = (Array.isArray(list) ? list : []).filter(
            (raw) =>
              match === undefined || valuesAt(raw, match.field).some((v) => match.pattern.test(v)),
          );
          const items = matching
            .slice(-MAX_OUTBOX_ITEMS)
            .reverse()
            .map((raw) => outboxItem(panel, raw));
          return { panel, items };
        } catch {
          return { panel, items: null };
        }
      }),
    );
  }

  async acsIdentities(): Promise<AcsIdentitySummary[] | undefined> {
    const url = this.urlOf('identities');
    if (url === undefined) return undefined;
    const body = await getJson(`${url}/_emulator/identities`);
    const list = Array.isArray(body)
      ? body
      : Array.isArray(record(body).identities)
        ? (record(body).identities as unknown[])
        : [];
    return list
      .map(record)
      .slice(-MAX_IDENTITIES)
      .reverse()
      .map((i) => ({
        id: String(i.id),
        createdAt: String(i.createdAt),
        deleted: i.deleted === true,
        tokensIssued: typeof i.tokensIssued === 'number' ? i.tokensIssued : 0,
        revokedAt: typeof i.revokedAt === 'string' ? i.revokedAt : null,
      }));
  }
}
