/**
 * Clients of the app on the in-process local runtime (issue 22's attack replays), told apart as in
 * Azure: by the TCP peer address. Each simulated client connects from its own loopback address
 * (127.x.y.z) and sends what App Service's front end forwards: its own `X-Forwarded-For` (spoofed
 * or none) with the peer address appended. The app counts the rightmost entry, so the tests hold
 * whether or not the local host appends the peer itself as well. Needs `npm run build`.
 */
import * as fs from 'node:fs';

import type { LocalHost, ManualClock } from '@local/durable-runtime';
import type { TwilioEmulator } from '@local/emulators';
import { Agent, fetch } from 'undici';

import { startBuiltApp } from './app-on-local-runtime';

const agents = new Map<string, Agent>();

export interface Stack {
  readonly host: LocalHost;
  readonly clock: ManualClock;
  readonly twilio: TwilioEmulator;
  readonly dataDir: string;
}

/**
 * The app with every embedded emulator for one suite: started in its `beforeAll` (`settings` are read then,
 * so they may name what an earlier `beforeAll` started), stopped in its `afterAll` with the clients'
 * connections and the data folder. Call it in the suite's `describe`; the stack's fields are there once it runs.
 */
export function stackPerSuite(
  name: string,
  settings: () => Record<string, string> = () => ({}),
): Stack {
  let started: Stack | undefined;
  beforeAll(async () => {
    const { host, clock, dataDir } = await startBuiltApp(name, {
      emulators: true,
      settings: {
        VERIFICATION_CODE_SECRET: `${name}-verification-secret-0123456789`,
        VERIFICATION_LIMIT_TABLE_NAME: `Limits${name.replace(/[^A-Za-z0-9]/g, '')}`,
        ...settings(),
      },
    });
    started = { host, clock, twilio: host.emulators!.twilio as TwilioEmulator, dataDir };
  });
  afterAll(async () => {
    if (started === undefined) return;
    await started.host.stop();
    for (const agent of agents.values()) await agent.close();
    agents.clear();
    fs.rmSync(started.dataDir, { recursive: true, force: true });
  });
  // Every read of a field goes to the started stack, so the suite can hold it before beforeAll has run.
  return new Proxy({} as Stack, {
    get: (_target, field) => {
      if (started === undefined) throw new Error(`the ${name} stack starts in beforeAll`);
      return started[field as keyof Stack];
    },
  });
}

function agentFor(peer: string): Agent {
  let agent = agents.get(peer);
  if (agent === undefined) {
    agent = new Agent({ localAddress: peer });
    agents.set(peer, agent);
  }
  return agent;
}

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A client at `peer` starts a verification; `spoof` is the X-Forwarded-For it sends itself. */
export async function start(
  stack: Stack,
  peer: string,
  phone: string,
  spoof?: string,
): Promise<Answer> {
  const response = await fetch(`${stack.host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    dispatcher: agentFor(peer),
    headers: {
      'content-type': 'application/json',
      // What the front end forwards: the client's own header, then the peer it saw.
      'x-forwarded-for': spoof === undefined ? peer : `${spoof}, ${peer}`,
    },
    body: JSON.stringify(phone),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Answers the code the Twilio emulator received for `phone` through the start's link. */
export async function verify(stack: Stack, started: Answer, phone: string): Promise<void> {
  await stack.host.whenIdle();
  const message = stack.twilio.messages(phone).at(-1);
  const code = /(\d{6})/.exec(message?.body ?? '')?.[1];
  if (code === undefined) throw new Error(`no code was sent to ${phone}`);
  const link = String(started.body.sendEventPostUri).replace('{eventName}', 'SmsChallengeResponse');
  const answered = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(code),
  });
  expect(answered.status).toBe(202);
  await stack.host.whenIdle();
  const status = await fetch(String(started.body.statusQueryGetUri));
  expect(((await status.json()) as { output?: unknown }).output).toBe(true);
}

export async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>) {
  const results: T[] = [];
  for (let first = 0; first < count; first += size) {
    const batch = Array.from({ length: Math.min(size, count - first) }, (_, k) => run(first + k));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

export const tally = (answers: readonly Answer[]) => {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 202 ? '202' : `${a.status} ${String(a.body.reason)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};
