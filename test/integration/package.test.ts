/**
 * `npm run package` produces what Azure loads, and only that: this test builds the package into a
 * temporary folder, checks its contents, then starts the local runtime with that folder alone as
 * the app root (with the /api/me switches infra/ sets, and an OTLP collector) and runs a whole
 * verification through it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { startLocalHostProcess, type LocalHostProcess } from '@local/durable-runtime';
import { answerCode } from '../helpers/verification-links';

const ROOT = path.resolve(__dirname, '..', '..');
const PHONE = '+14255550199';

let workDir: string;
let appDir: string;
let packagedOutput: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'package-test-'));
  appDir = path.join(workDir, 'app');
  const run = spawnSync(
    process.execPath,
    // The zip holds the same files; zipping 160 MB only slows the suite down.
    [path.join(ROOT, 'dist', 'scripts', 'package.js'), '--out', appDir, '--no-zip'],
    { encoding: 'utf8' },
  );
  packagedOutput = `${run.stdout}${run.stderr}`;
  expect({ status: run.status, output: packagedOutput }).toEqual({
    status: 0,
    output: expect.stringContaining('Packaged') as unknown,
  });
  // Copying ~20,000 files of node_modules takes a minute or two on a busy machine.
}, 300_000);

afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [path.relative(appDir, full)];
  });
}

describe('the package folder', () => {
  it('holds dist/src, host.json, package.json and node_modules, nothing else', () => {
    expect(fs.readdirSync(appDir).sort()).toEqual([
      'dist',
      'host.json',
      'node_modules',
      'package.json',
    ]);
    expect(fs.readdirSync(path.join(appDir, 'dist'))).toEqual(['src']);
    expect(fs.readFileSync(path.join(appDir, 'host.json'), 'utf8')).toBe(
      fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8'),
    );
    const manifest = JSON.parse(
      fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest.main).toBe(source.main);
    expect(manifest.dependencies).toEqual(source.dependencies);
    expect(manifest).not.toHaveProperty('devDependencies');
    expect(manifest).not.toHaveProperty('scripts');
  });

  it('contains no test, emulator, local-runtime or benchmark code, and no TypeScript sources', () => {
    const appFiles = walk(path.join(appDir, 'dist')).map((file) => file.split(path.sep).join('/'));
    expect(appFiles).toContain('dist/src/index.js');
    expect(appFiles.filter((file) => !file.startsWith('dist/src/'))).toEqual([]);
    expect(
      appFiles.filter((file) => /\.test\.|\/test\/|local-runtime|emulators|bench|\.ts$/.test(file)),
    ).toEqual([]);
    const app = appFiles
      .filter((file) => file.endsWith('.js'))
      .map((file) => fs.readFileSync(path.join(appDir, file), 'utf8'));
    for (const text of app) {
      expect(text).not.toMatch(/require\("(?:\.\.\/)+(?:local-runtime|emulators|test|bench)\//);
      expect(text).not.toMatch(/require\("@local\//);
    }
  });

  it('has every production dependency and none of the development-only ones', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    type Manifest = {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
      workspaces: string[];
    };
    const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
    for (const name of Object.keys(source.dependencies ?? {})) {
      expect(fs.existsSync(path.join(appDir, 'node_modules', name, 'package.json'))).toBe(true);
    }
    // Development-only: the root's dev dependencies (the lock marks them dev) and what the workspace packages
    // (runtime, emulators, bench) run on that the app does not depend on itself.
    const workspaceNeeds = source.workspaces.flatMap((dir) => {
      const manifest = JSON.parse(
        fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'),
      ) as Manifest;
      return Object.keys(manifest.dependencies ?? {});
    });
    const devOnly = [
      ...Object.keys(source.devDependencies ?? {}).filter(
        (name) => lock.packages[`node_modules/${name}`]?.dev === true,
      ),
      ...workspaceNeeds.filter((name) => source.dependencies?.[name] === undefined),
    ];
    expect(devOnly).toEqual(
      expect.arrayContaining(['jest', 'typescript', 'better-sqlite3', 'azurite']),
    );
    for (const name of devOnly) {
      expect({ name, present: fs.existsSync(path.join(appDir, 'node_modules', name)) }).toEqual({
        name,
        present: false,
      });
    }
  });
});

/** An OTLP/HTTP collector that keeps every request body. */
async function startCollector(): Promise<{
  url: string;
  bodies: string[];
  close(): Promise<void>;
}> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the package on the local runtime, loaded from its folder alone', () => {
  let host: LocalHostProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const meFunctions = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'infra', 'app', 'me-functions.json'), 'utf8'),
  ) as string[];

  beforeAll(async () => {
    collector = await startCollector();
    host = await startLocalHostProcess({
      appDir,
      dataDir: path.join(workDir, 'data'),
      databasePath: ':memory:',
      settingsFile: false,
      emulators: true,
      // The emulators come from the repository's hook, which is not deployed.
      servicesFile: path.join(ROOT, 'local.services.cjs'),
      settings: {
        VERIFICATION_CODE_SECRET: 'package-test-verification-secret',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        // What infra/ sets when no AgentID sidecar URL is given.
        ...Object.fromEntries(meFunctions.map((name) => [`AzureWebJobs.${name}.Disabled`, 'true'])),
      },
    });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    await collector?.close();
  });

  it('disables exactly the /api/me functions with the switches infra/ sets', async () => {
    const output = host.output();
    const disabled = [...output.matchAll(/^\s+(\w+): disabled$/gm)].map((m) => m[1]);
    expect(disabled.sort()).toEqual([...meFunctions].sort());
    // No function still routed under /api/me.
    expect(output).not.toMatch(/\] http:\/\/[^ ]+\/api\/me(?:\/|$|\s)/m);
    expect(output).toMatch(
      /httpStart: \[POST\] http:\/\/[^ ]+\/api\/orchestrators\/\{orchestratorName\}/,
    );
    expect((await fetch(`${host.url}/api/me`)).status).toBe(404);
  });

  it('runs a verification end to end, and exports its spans without the number or the code', async () => {
    const start = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(PHONE),
    });
    expect(start.status).toBe(202);
    const links = (await start.json()) as { sendEventPostUri: string; statusQueryGetUri: string };
    const code = await eventually(
      () =>
        new RegExp(`SMS to \\${PHONE}: Your verification code is (\\d+)`).exec(host.output())?.[1],
      'the SMS on the Twilio emulator',
    );
    // The seed's client flow, through the per-verification links of the 202.
    const answer = await answerCode(links, code);
    expect(answer.status).toBe(202);
    await eventually(async () => {
      const status = (await (await fetch(links.statusQueryGetUri)).json()) as { output?: unknown };
      return status.output === true ? status : undefined;
    }, 'the verification to complete');

    const exported = await eventually(
      () => collector.bodies.find((body) => body.includes('twilio.messages.create')),
      'the Twilio span at the OTLP collector',
    );
    expect(exported).toContain('peer.service');
    // Every text a span carries (names, attribute values, status messages); ids and timestamps are
    // left out, since a random code could turn up in a nanosecond timestamp.
    const texts: string[] = [];
    for (const body of collector.bodies) {
      JSON.parse(body, (key: string, value: unknown) => {
        if (typeof value === 'string' && ['name', 'stringValue', 'message'].includes(key))
          texts.push(value);
        return value;
      });
    }
    expect(texts).toContain('twilio.messages.create');
    expect(texts.filter((text) => text.includes(PHONE.slice(2)) || text.includes(code))).toEqual(
      [],
    );
  });
});
