/**
 * The local services the app's hook names (`dashboard.services` in `local.services.cjs`: embedded or standalone
 * emulators), read through their `/_emulator/` inspection APIs. Only loopback URLs are ever called: a real
 * service is not asked.
 */
import type { DashboardService } from '../host/local-services';

export interface ServiceHealth {
  readonly name: string;
  readonly url: string | null;
  readonly status: 'ok' | 'down' | 'not configured';
  readonly detail: string;
}

export interface ReceivedSms {
  readonly sid: string;
  readonly to: string;
  readonly from: string | null;
  readonly body: string;
  readonly dateCreated: string;
  readonly status: string;
}

export interface AcsIdentitySummary {
  readonly id: string;
  readonly createdAt: string;
  readonly deleted: boolean;
  readonly tokensIssued: number;
  readonly revokedAt: string | null;
}

const TIMEOUT_MS = 2000;
/** The dashboard shows the newest SMS; the emulator keeps up to 10 000. */
export const MAX_SMS = 200;
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

export class ServiceInspector {
  private readonly services: readonly DashboardService[];

  constructor(services: readonly DashboardService[]) {
    this.services = services.map((s) => ({
      ...s,
      url: s.url !== undefined && isLoopbackOrigin(s.url) ? new URL(s.url).origin : undefined,
    }));
  }

  private urlOf(kind: 'sms' | 'identities'): string | undefined {
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

  /** Newest first. */
  async sms(): Promise<ReceivedSms[] | undefined> {
    const url = this.urlOf('sms');
    if (url === undefined) return undefined;
    const body = record(await getJson(`${url}/_emulator/messages`));
    const messages = Array.isArray(body.messages) ? body.messages.map(record) : [];
    return messages
      .slice(-MAX_SMS)
      .reverse()
      .map((m) => ({
        sid: String(m.sid),
        to: String(m.to),
        from: typeof m.from === 'string' ? m.from : null,
        body: String(m.body),
        dateCreated: String(m.dateCreated),
        status: String(m.status),
      }));
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
