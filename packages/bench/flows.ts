/**
 * What the benchmark's scenarios share: one verification flow over HTTP as a client does it (start, read the
 * code from the Twilio emulator's outbox, raise it, poll the status link), a bounded-concurrency pool, and the
 * host process's RSS.
 */
import * as fs from 'node:fs';
import type { TwilioEmulator } from '@local/emulators';
import type { LocalHostProcess } from '@local/durable-runtime';

export interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
}

export interface Status {
  runtimeStatus: string;
  output?: unknown;
  customStatus?: { state?: string } | null;
  historyEvents?: { EventType?: string; Timestamp?: string; FireAt?: string }[];
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` jobs with at most `limit` in flight. */
export async function pool(
  count: number,
  limit: number,
  job: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match?.[1]) throw new Error('VmRSS not found');
  return Number(match[1]) * 1024;
}

export class Bench {
  constructor(
    private readonly host: LocalHostProcess,
    private readonly twilio: TwilioEmulator,
  ) {}

  async start(phone: string): Promise<CheckStatus> {
    const response = await fetch(`${this.host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(phone),
    });
    if (response.status !== 202) throw new Error(`start answered ${response.status}`);
    return (await response.json()) as CheckStatus;
  }

  /** Waits for the SMS to reach the emulator and reads the code out of it. */
  async code(phone: string): Promise<string> {
    for (;;) {
      const sms = this.twilio.messages(phone)[0];
      const code = sms ? /(\d{4,10})/.exec(sms.body)?.[1] : undefined;
      if (code) return code;
      await sleep(2);
    }
  }

  async raise(started: CheckStatus, code: string): Promise<void> {
    const url = started.sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse');
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(code),
    });
    if (response.status !== 202) throw new Error(`raiseEvent answered ${response.status}`);
  }

  async status(
    started: CheckStatus,
    query: Readonly<Record<string, string>> = {},
  ): Promise<Status> {
    const url = new URL(started.statusQueryGetUri);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const response = await fetch(url);
    // 202 while running, 200 once finished; anything else means the benchmark itself is wrong.
    if (response.status !== 200 && response.status !== 202) {
      throw new Error(`status query answered ${response.status}`);
    }
    return (await response.json()) as Status;
  }

  /** History is for trusted callers only (the status link never shows it): the management API. */
  async managementStatus(id: string): Promise<Status> {
    const url = new URL(`${this.host.url}/runtime/webhooks/durabletask/instances/${id}`);
    url.searchParams.set('showHistory', 'true');
    url.searchParams.set('code', this.host.keys.systemKey);
    const response = await fetch(url);
    if (response.status !== 200) throw new Error(`management status answered ${response.status}`);
    return (await response.json()) as Status;
  }

  async untilCompleted(
    started: CheckStatus,
    pollMs: number,
    query: Readonly<Record<string, string>> = {},
  ): Promise<Status> {
    for (;;) {
      const status = await this.status(started, query);
      if (status.runtimeStatus === 'Completed') return status;
      if (status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated') {
        throw new Error(`instance ${started.id} ended ${status.runtimeStatus}`);
      }
      await sleep(pollMs);
    }
  }

  async flow(phone: string): Promise<void> {
    const started = await this.start(phone);
    await this.raise(started, await this.code(phone));
    const done = await this.untilCompleted(started, 10);
    if (done.output !== true) throw new Error(`instance ${started.id} did not verify`);
  }
}
