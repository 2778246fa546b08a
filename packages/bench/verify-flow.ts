/**
 * `npm run bench:verify`: the Verify v2 flow against the link flow, on one host, under the same load.
 *
 * One host process (as `npm start` runs it, SQLite in a temporary file), the Twilio emulator in this process and
 * Azurite (the app's tables) behind a counting proxy. For each concurrency level the two flows alternate on the
 * same host, each measured by the host's CPU time per completed flow (the figure the issue's ≤ 1.25× target is
 * about), flows/s and errors:
 * - link flow: POST /api/orchestrators/SmsPhoneVerification → SMS → POST the code to sendEventPostUri → poll the
 *   status link until Completed;
 * - Verify flow: POST /api/verify/v2/Services/{VA}/Verifications → SMS → POST VerificationCheck (synchronous
 *   `approved`).
 * Then, at c1, what one flow costs (for docs/cost.md): function executions (HTTP invocations, orchestrator
 * episodes, activities, from the instance's history), app Table Storage requests (counted at the proxy) and
 * host CPU.
 *
 * Options: --levels 16,256 --flows N (per level and flow, default 600) --warmup N (100) --quick (200 flows).
 * Only loopback addresses are used.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from 'undici';
import { startTwilioEmulator, type TwilioEmulator } from '@local/emulators';
import { startLocalHostProcess, type LocalHostProcess } from '@local/durable-runtime';
import { benchAppSettings, benchStorage, closeBenchStorage } from './settings';

const ACCOUNT_SID = `AC${'b'.repeat(32)}`;
const AUTH_TOKEN = 'bench-verify-auth-token-not-for-production';
const BASIC = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
const CLOCK_TICKS_PER_SECOND = 100;

interface Options {
  levels: number[];
  flows: number;
  warmup: number;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { levels: [16, 256], flows: 600, warmup: 100 };
  if (argv.includes('--quick')) o.flows = 200;
  for (let i = 0; i < argv.length; i++) {
    const value = (): string => argv[++i] ?? '';
    if (argv[i] === '--levels') o.levels = value().split(',').map(Number);
    if (argv[i] === '--flows') o.flows = Number(value());
    if (argv[i] === '--warmup') o.warmup = Number(value());
  }
  if (![o.flows, o.warmup, ...o.levels].every((n) => Number.isInteger(n) && n >= 0)) {
    throw new Error('--levels, --flows and --warmup take non-negative integers');
  }
  return o;
}

/** CPU time (user + system) of a process so far, ms, from /proc. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Forwards to Azurite and counts requests by method: what the app's tables cost in storage transactions. */
async function countingProxy(target: URL): Promise<{
  url: string;
  counts: Map<string, number>;
  close(): Promise<void>;
}> {
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const kind = `${req.method} ${/\$batch/.test(req.url ?? '') ? '$batch' : ''}`.trim();
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => {
      agent.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const dispatcher = new Agent({ connections: 512, keepAliveTimeout: 30_000 });

async function call(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    // @ts-expect-error undici's dispatcher option on Node's fetch
    dispatcher,
  });
  const text = await response.text();
  return {
    status: response.status,
    json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

let phoneSerial = 0;
const nextPhone = (): string => `+1425${String(7_000_000 + phoneSerial++).padStart(7, '0')}`;

async function smsCode(twilio: TwilioEmulator, phone: string): Promise<string> {
  const { json } = await call(
    'GET',
    `${twilio.url}/_emulator/messages?to=${encodeURIComponent(phone)}&waitMs=20000`,
  );
  const messages = (json.messages as { body: string }[] | undefined) ?? [];
  const body = messages.at(-1)?.body ?? '';
  const code = /(\d{4,10})\s*$/.exec(body)?.[1] ?? /(\d{6})/.exec(body)?.[1];
  if (code === undefined) throw new Error('no SMS');
  return code;
}

type Flow = (host: LocalHostProcess, twilio: TwilioEmulator, serviceSid: string) => Promise<number>;

/** Starts a link verification for a new number and submits the code the SMS carried (two app requests). */
async function linkOnce(
  host: LocalHostProcess,
  twilio: TwilioEmulator,
): Promise<{ started: Awaited<ReturnType<typeof call>> }> {
  const phone = nextPhone();
  const started = await call(
    'POST',
    `${host.url}/api/orchestrators/SmsPhoneVerification`,
    JSON.stringify({ phoneNumber: phone }),
    { 'content-type': 'application/json' },
  );
  if (started.status !== 202) throw new Error(`start ${started.status}`);
  const code = await smsCode(twilio, phone);
  const submit = String(started.json.sendEventPostUri).replace(
    '{eventName}',
    'SmsChallengeResponse',
  );
  const sent = await call('POST', submit, JSON.stringify(code), {
    'content-type': 'application/json',
  });
  if (sent.status !== 202) throw new Error(`submit ${sent.status}`);
  return { started };
}

/** One link flow; returns the number of app HTTP requests it made; polls the status until Completed. */
const linkFlow: Flow = async (host, twilio) => {
  const { started } = await linkOnce(host, twilio);
  let requests = 2;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    requests++;
    const status = await call('GET', String(started.json.statusQueryGetUri));
    if (status.json.runtimeStatus === 'Completed') {
      if (status.json.output !== true) throw new Error('not verified');
      return requests;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
};

/** Creates a Verify verification for a new number and checks the code the SMS carried (two app requests). */
async function verifyOnce(
  host: LocalHostProcess,
  twilio: TwilioEmulator,
  serviceSid: string,
): Promise<{ created: Awaited<ReturnType<typeof call>>; check: Awaited<ReturnType<typeof call>> }> {
  const phone = nextPhone();
  const form = { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' };
  const base = `${host.url}/api/verify/v2/Services/${serviceSid}`;
  const created = await call(
    'POST',
    `${base}/Verifications`,
    new URLSearchParams({ To: phone, Channel: 'sms' }).toString(),
    form,
  );
  if (created.status !== 201)
    throw new Error(`create ${created.status} ${JSON.stringify(created.json)}`);
  const code = await smsCode(twilio, phone);
  const check = await call(
    'POST',
    `${base}/VerificationCheck`,
    new URLSearchParams({ To: phone, Code: code }).toString(),
    form,
  );
  return { created, check };
}

/** One Verify flow; returns the number of app HTTP requests it made. */
const verifyFlow: Flow = async (host, twilio, serviceSid) => {
  const { check } = await verifyOnce(host, twilio, serviceSid);
  if (check.status !== 200 || check.json.status !== 'approved') {
    throw new Error(`check ${check.status} ${String(check.json.status)}`);
  }
  return 2;
};

interface Figures {
  flowsPerSec: number;
  hostCpuMsPerFlow: number;
  errors: number;
  errorKinds: Record<string, number>;
  requestsPerFlow: number;
}

async function measure(
  flow: Flow,
  host: LocalHostProcess,
  twilio: TwilioEmulator,
  serviceSid: string,
  flows: number,
  concurrency: number,
): Promise<Figures> {
  let next = 0;
  let errors = 0;
  let requests = 0;
  const errorKinds: Record<string, number> = {};
  const cpuBefore = cpuMs(host.pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, flows) }, async () => {
      while (next < flows) {
        next++;
        try {
          const made = await flow(host, twilio, serviceSid);
          requests += made;
        } catch (error: unknown) {
          errors++;
          const kind = error instanceof Error ? error.message.slice(0, 40) : 'error';
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ok = flows - errors;
  return {
    flowsPerSec: Number((ok / seconds).toFixed(1)),
    hostCpuMsPerFlow: Number(((cpuMs(host.pid) - cpuBefore) / Math.max(ok, 1)).toFixed(2)),
    errors,
    errorKinds,
    requestsPerFlow: Number((requests / Math.max(ok, 1)).toFixed(2)),
  };
}

/** Episodes, activities and timers of one finished instance, from its history. */
async function historyCounts(
  host: LocalHostProcess,
  instanceId: string,
): Promise<Record<string, number>> {
  const { json } = await call(
    'GET',
    `${host.url}/runtime/webhooks/durabletask/instances/${instanceId}?showHistory=true&code=${host.keys.systemKey}`,
  );
  const events = (json.historyEvents as { EventType: string }[] | undefined) ?? [];
  const count = (type: string): number => events.filter((e) => e.EventType === type).length;
  return {
    historyEvents: events.length,
    activities: count('TaskCompleted') + count('TaskFailed'),
    timersCreated: count('TimerCreated'),
    eventsRaised: count('EventRaised'),
    // Each external event or completed activity wakes the orchestrator once; the start is the first episode.
    episodes:
      1 + count('TaskCompleted') + count('TaskFailed') + count('EventRaised') + count('TimerFired'),
  };
}

async function perFlowCosts(
  host: LocalHostProcess,
  twilio: TwilioEmulator,
  serviceSid: string,
  tables: Map<string, number>,
): Promise<Record<string, unknown>> {
  const samples = 20;
  const out: Record<string, unknown> = {};
  for (const [name, flow] of [
    ['link', linkFlow],
    ['verify', verifyFlow],
  ] as const) {
    tables.clear();
    const figures = await measure(flow, host, twilio, serviceSid, samples, 1);
    const tableRequests = Object.fromEntries(
      [...tables].map(([kind, n]) => [kind, Number((n / samples).toFixed(2))]),
    );
    out[name] = { ...figures, tableRequestsPerFlow: tableRequests };
  }
  // One instance of each, for its history.
  const { created } = await verifyOnce(host, twilio, serviceSid);
  (out.verify as Record<string, unknown>).history = await historyCounts(
    host,
    String(created.json.sid),
  );
  const { started } = await linkOnce(host, twilio);
  (out.link as Record<string, unknown>).history = await historyCounts(
    host,
    String(started.json.id),
  );
  return out;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const azurite = await benchStorage();
  const tableUrl = new URL(/TableEndpoint=([^;]+)/.exec(azurite.connectionString)![1]!);
  const proxy = await countingProxy(tableUrl);
  const connectionString = azurite.connectionString.replace(
    /TableEndpoint=[^;]+/,
    `TableEndpoint=${proxy.url}/devstoreaccount1`,
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-verify-'));
  const host = await startLocalHostProcess({
    appDir: path.resolve(__dirname, '..', '..', '..'),
    dataDir,
    databasePath: path.join(dataDir, 'durable.sqlite'),
    settingsFile: false,
    emulators: false,
    startTimeoutMs: 60_000,
    settings: {
      ...benchAppSettings(twilio.appSettings(), connectionString, 600),
      VERIFY_API_ACCOUNT_SID: ACCOUNT_SID,
      VERIFY_API_AUTH_TOKEN: AUTH_TOKEN,
    },
  });
  try {
    const service = await call('POST', `${host.url}/api/verify/v2/Services`, 'FriendlyName=Bench', {
      authorization: BASIC,
      'content-type': 'application/x-www-form-urlencoded',
    });
    const serviceSid = String(service.json.sid);
    await measure(linkFlow, host, twilio, serviceSid, o.warmup, 16);
    await measure(verifyFlow, host, twilio, serviceSid, o.warmup, 16);
    const rows: Record<string, unknown>[] = [];
    for (const c of o.levels) {
      // Alternating order per level, so drift in the machine's load hits both alike.
      const order =
        rows.length % 2 === 0 ? (['link', 'verify'] as const) : (['verify', 'link'] as const);
      const figures: Record<string, Figures> = {};
      for (const name of order) {
        figures[name] = await measure(
          name === 'link' ? linkFlow : verifyFlow,
          host,
          twilio,
          serviceSid,
          o.flows,
          c,
        );
      }
      rows.push({
        level: `c${c}`,
        link: figures.link,
        verify: figures.verify,
        hostCpuRatio: Number(
          (figures.verify!.hostCpuMsPerFlow / figures.link!.hostCpuMsPerFlow).toFixed(2),
        ),
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
    const costs = await perFlowCosts(host, twilio, serviceSid, proxy.counts);
    console.log(JSON.stringify({ perFlowAtC1: costs }));
  } finally {
    await host.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await proxy.close();
    await closeBenchStorage();
    await twilio.close();
    await dispatcher.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
