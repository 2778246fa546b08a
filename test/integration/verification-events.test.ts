/**
 * Issue 22: verification events (Standard Webhooks, durable retries, stable ids) and the conversion
 * guard's dry-run, against the app on the in-process local runtime with a local webhook receiver
 * that has a fault switch. Retry timers fire on the runtime's manual clock; nothing sleeps.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { Webhook } from 'standardwebhooks';
import { fetch } from 'undici';

import { inBatches, stackPerSuite, start, tally, verify } from '../helpers/guard-clients';

jest.setTimeout(300_000);

interface Delivery {
  readonly id: string;
  readonly status: number;
  readonly body: string;
  readonly signatureValid: boolean;
}

/** A webhook receiver with a fault switch: the next `failNext` deliveries answer 500. */
async function startReceiver(secret: () => string) {
  const deliveries: Delivery[] = [];
  const state = { failNext: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      };
      let signatureValid = true;
      try {
        new Webhook(secret()).verify(body, headers);
      } catch {
        signatureValid = false;
      }
      const status = state.failNext > 0 ? 500 : 204;
      if (state.failNext > 0) state.failNext -= 1;
      deliveries.push({ id: headers['webhook-id'], status, body, signatureValid });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/verification`,
    deliveries,
    state,
    /** Accepted (2xx) deliveries per event id. */
    accepted(): Map<string, { type: string; count: number; data: Record<string, unknown> }> {
      const byId = new Map<
        string,
        { type: string; count: number; data: Record<string, unknown> }
      >();
      for (const d of deliveries.filter((d) => d.status < 300)) {
        const event = JSON.parse(d.body) as { type: string; data: Record<string, unknown> };
        const seen = byId.get(d.id);
        byId.set(d.id, { type: event.type, data: event.data, count: (seen?.count ?? 0) + 1 });
      }
      return byId;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('verification events and dry-run', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret = '';
  beforeAll(async () => {
    receiver = await startReceiver(() => secret);
  });
  // No VERIFICATION_WEBHOOK_SECRET: the local runtime generates one under the data folder.
  const stack = stackPerSuite('guard-events', () => ({
    VERIFICATION_WEBHOOK_URLS: receiver.url,
    VERIFICATION_FRAUD_GUARD_MODE: 'dry-run',
  }));
  beforeAll(() => {
    // Declared in local.services.cjs `generatedSecrets`, kept like the host keys.
    const file = path.join(stack.dataDir, 'generated-secrets.json');
    secret = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>)
      .VERIFICATION_WEBHOOK_SECRET!;
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
  });
  // After the stack's own afterAll (hooks run in the order they are declared): the host stops first.
  afterAll(() => receiver.close());

  /**
   * Lets durable retry timers (5 s, then 10 s, …) fire on the runtime's clock until `done`, in
   * 5-second steps, well inside the verification's 90-second deadline.
   */
  async function deliverUntil(done: () => boolean): Promise<void> {
    for (let round = 0; round < 12 && !done(); round++) {
      await stack.host.whenIdle();
      if (done()) return;
      stack.clock.advance(5_000);
    }
    await stack.host.whenIdle();
  }

  const typesOf = () => [...receiver.accepted().values()].map((e) => e.type).sort();

  it('arrive signed, once per event id across a retried delivery, with neither code nor number', async () => {
    const phone = '+12065550100';
    receiver.state.failNext = 3;
    const started = await start(stack, '127.0.3.1', phone);
    expect(started.status).toBe(202);
    await deliverUntil(() => typesOf().length >= 2);
    await verify(stack, started, phone);
    // The refused start of a premium-rate number is announced too.
    expect((await start(stack, '127.0.3.1', '+19005551234')).status).toBe(403);
    const expected = [
      'verification.approved',
      'verification.blocked',
      'verification.code_sent',
      'verification.created',
    ];
    await deliverUntil(() => typesOf().length >= expected.length);
    expect(typesOf()).toEqual(expected);
    // Three deliveries failed and were retried with the same id; each id was accepted once.
    const failed = receiver.deliveries.filter((d) => d.status === 500);
    expect(failed).toHaveLength(3);
    const accepted = receiver.accepted();
    for (const d of failed) expect(accepted.get(d.id)?.count).toBe(1);
    for (const event of accepted.values()) expect(event.count).toBe(1);
    expect(receiver.deliveries.every((d) => d.signatureValid)).toBe(true);
    const code = /(\d{6})/.exec(stack.twilio.messages(phone).at(-1)!.body)![1]!;
    for (const d of receiver.deliveries) {
      expect(d.body).not.toContain(phone.slice(1));
      expect(d.body).not.toContain(code);
    }
    const created = [...accepted.values()].find((e) => e.type === 'verification.created')!;
    expect(created.data).toMatchObject({
      verificationId: started.body.id,
      phoneNumber: '+1******0100',
      country: 'US',
    });
    const blocked = [...accepted.values()].find((e) => e.type === 'verification.blocked')!;
    expect(blocked.data).toMatchObject({ reason: 'phone_number_type_blocked', status: 403 });
  });

  it('dry-run blocks nothing but reports the block and what it would have refused', async () => {
    const pumped = (i: number) => `+120677${i % 10}${String(3000 + i).padStart(4, '0')}`;
    const answers = await inBatches(25, 5, (i) => start(stack, `127.0.4.${i % 5}`, pumped(i)));
    expect(tally(answers)).toEqual({ '202': 25 });
    const report = await fetch(`${stack.host.url}/api/verifications/guard/report`, {
      headers: { 'x-functions-key': stack.host.keys.functionKey },
    });
    const body = (await report.json()) as { mode: string; rows: Record<string, unknown>[] };
    expect(body.mode).toBe('dry-run');
    expect(body.rows.find((r) => r.subject === '+120677')).toMatchObject({
      blocked: true,
      blockMode: 'dry-run',
      dryRunRefusals: 5,
    });
    await stack.host.whenIdle();
  });
});
