/**
 * The dashboard's one way into the Durable management API: calls it in-process with the system key, as
 * the front door would pass a request on, and removes every URL that carries the key from the answer.
 */
import type { DurableExtension, RuntimeHttpResponse } from '../contracts';
import { DEFAULT_CONNECTION_NAME, WEBHOOK_PATH } from '../engine/http-api';

export interface ManagementAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly continuationToken: string | undefined;
}

/** A management API error answer, passed on as it is (its problem+json holds no key and no secret). */
export class ManagementError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`management API answered ${status}`);
  }
}

export type Query = Readonly<Record<string, string | readonly string[]>>;

export class ManagementClient {
  constructor(
    private readonly options: {
      readonly engine: DurableExtension | undefined;
      readonly systemKey: string;
      readonly taskHubName: string;
    },
  ) {}

  async call(
    method: string,
    subPath: string,
    query: Query = {},
    body?: unknown,
    continuationToken?: string,
  ): Promise<ManagementAnswer> {
    const { engine, systemKey, taskHubName } = this.options;
    if (!engine) {
      throw new ManagementError(404, {
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'The Durable extension is not running.',
      });
    }
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      for (const one of typeof v === 'string' ? [v] : v) search.append(k, one);
    }
    search.set('taskHub', taskHubName);
    search.set('connection', DEFAULT_CONNECTION_NAME);
    search.set('code', systemKey);
    const response: RuntimeHttpResponse = await engine.handleHttp({
      method,
      path: `${WEBHOOK_PATH}${subPath}`,
      query: search,
      headers: {
        'content-type': 'application/json',
        ...(continuationToken ? { 'x-ms-continuation-token': continuationToken } : {}),
      },
      body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
      origin: 'http://localhost',
    });
    const text = response.body === undefined ? '' : response.body.toString();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = { detail: 'The management API answered something that is not JSON.' };
    }
    return {
      status: response.status,
      body: withoutKeyedUrls(parsed, systemKey),
      continuationToken: response.headers?.['x-ms-continuation-token'],
    };
  }
}

/** The body of a successful answer; an error answer is thrown as a ManagementError. */
export function answerOrThrow(answer: ManagementAnswer): unknown {
  if (answer.status >= 400) throw new ManagementError(answer.status, answer.body);
  return answer.body ?? { status: answer.status };
}

/** The management API's answers may carry URLs with the system key (restart): the browser gets none. */
export function withoutKeyedUrls(value: unknown, systemKey: string): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutKeyedUrls(v, systemKey));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (/Uri$/.test(k) || (typeof v === 'string' && v.includes(systemKey))) continue;
      out[k] = withoutKeyedUrls(v, systemKey);
    }
    return out;
  }
  return value;
}
