/**
 * The local services the app's settings point at (embedded or standalone emulators), read through their
 * `/_emulator/` inspection APIs. Only loopback URLs are ever called: a real Twilio or ACS is not asked.
 */

export interface LocalServiceUrls {
  readonly twilio: string | undefined;
  readonly acs: string | undefined;
  readonly sidecar: string | undefined;
}

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

function loopbackBase(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (host !== 'localhost' && host !== '::1' && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
      return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

export function serviceUrls(settings: Readonly<Record<string, string>>): LocalServiceUrls {
  const acsEndpoint = /(?:^|;)\s*endpoint=([^;]+)/i.exec(
    settings.COMMUNICATION_SERVICES_CONNECTION_STRING ?? '',
  )?.[1];
  return {
    twilio: loopbackBase(settings.TwilioApiBaseUrl),
    acs: loopbackBase(acsEndpoint),
    sidecar: loopbackBase(settings.SIDECAR_URL),
  };
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

export class LocalServices {
  constructor(private readonly urls: LocalServiceUrls) {}

  async health(): Promise<ServiceHealth[]> {
    const probes: [string, string | undefined][] = [
      ['Twilio emulator', this.urls.twilio],
      ['ACS Identity emulator', this.urls.acs],
      ['AgentID sidecar emulator', this.urls.sidecar],
    ];
    return Promise.all(
      probes.map(async ([name, url]): Promise<ServiceHealth> => {
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
    if (this.urls.twilio === undefined) return undefined;
    const body = record(await getJson(`${this.urls.twilio}/_emulator/messages`));
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
    if (this.urls.acs === undefined) return undefined;
    const body = await getJson(`${this.urls.acs}/_emulator/identities`);
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
