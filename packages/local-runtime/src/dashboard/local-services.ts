/**
 * The local services the app's hook names (`dashboard.services` in `local.services.cjs`: embedded or standalone
 * emulators), read through their `/_emulator/` inspection APIs. Only loopback URLs are ever called: a real
 * service is not asked.
 */
import type { DashboardService, FaultSwitchPanel, OutboxPanel } from '../host/local-services';

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

/** One fault armed on a switch: the next `remaining` sends fail with `status`, or hang. */
export interface ArmedFault {
  readonly remaining: number;
  readonly hang: boolean;
  readonly status: number | null;
}

/** A fault switch and what is armed on it; `armed` is null when its service is not configured or down. */
export interface FaultSwitchView {
  readonly id: string;
  readonly title: string;
  readonly service: string;
  readonly armed: readonly ArmedFault[] | null;
}

/** What the dashboard arms: N failures with a status, or N hung sends. */
export type FaultToArm =
  | { readonly count: number; readonly hang: true }
  | { readonly count: number; readonly hang: false; readonly status: number };

/** A switch no service declares (404), or whose service is not configured, down or refusing (502). */
export class FaultSwitchError extends Error {
  constructor(
    readonly status: 404 | 502,
    message: string,
  ) {
    super(message);
  }
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
/** A switch's state lists at most this many armed faults. */
const MAX_ARMED_SHOWN = 20;

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

function armedFault(raw: unknown): ArmedFault {
  const r = record(raw);
  return {
    remaining: typeof r.remaining === 'number' ? r.remaining : 0,
    hang: r.hang === true,
    status: typeof r.status === 'number' ? r.status : null,
  };
}

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

  /** Every fault switch of every service, in the services' order, with what is armed on it. */
  async faultSwitches(): Promise<FaultSwitchView[]> {
    const switches = this.services.flatMap((s) =>
      (s.faultSwitches ?? []).map((panel) => ({ service: s.name, url: s.url, panel })),
    );
    return Promise.all(
      switches.map(async ({ service, url, panel }): Promise<FaultSwitchView> => {
        const view = { id: panel.id, title: panel.title, service };
        if (url === undefined) return { ...view, armed: null };
        try {
          const armed = record(await getJson(`${url}${panel.path}`)).armed;
          const list = Array.isArray(armed) ? armed.slice(0, MAX_ARMED_SHOWN) : [];
          return { ...view, armed: list.map(armedFault) };
        } catch {
          return { ...view, armed: null };
        }
      }),
    );
  }

  /** The switch `id` and its service's URL. */
  private faultSwitch(id: string): { url: string; panel: FaultSwitchPanel } {
    for (const s of this.services) {
      const panel = s.faultSwitches?.find((p) => p.id === id);
      if (panel === undefined) continue;
      if (s.url === undefined)
        throw new FaultSwitchError(502, `The service of '${id}' is not configured.`);
      return { url: s.url, panel };
    }
    throw new FaultSwitchError(404, `No fault switch '${id}'.`);
  }

  /** Arms (`fault`) or disarms (undefined) the switch `id` on its service. */
  async setFault(id: string, fault: FaultToArm | undefined): Promise<void> {
    const target = this.faultSwitch(id);
    const body =
      fault === undefined
        ? undefined
        : JSON.stringify(
            fault.hang
              ? { count: fault.count, hang: true }
              : { count: fault.count, status: fault.status },
          );
    let response: Response;
    try {
      response = await fetch(`${target.url}${target.panel.path}`, {
        method: fault === undefined ? 'DELETE' : 'POST',
        signal: AbortSignal.timeout(TIMEOUT_MS),
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }),
      });
    } catch {
      throw new FaultSwitchError(502, `The service of '${id}' does not answer.`);
    }
    await response.arrayBuffer();
    if (!response.ok) {
      throw new FaultSwitchError(
        502,
        `The service of '${id}' refused the switch (HTTP ${response.status}).`,
      );
    }
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
