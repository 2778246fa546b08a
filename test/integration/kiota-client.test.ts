/**
 * The OpenAPI document proves itself: Kiota (the `Microsoft.OpenApi.Kiota` .NET tool, pinned and
 * restored from NuGet by scripts/dotnet-tools.ts) generates a TypeScript client from the
 * `/api/openapi.json` a local host serves, strict TypeScript compiles that client with
 * test/kiota-client/driver.ts, and the driver, on `@microsoft/kiota-bundle`, completes a
 * verification (start, the SMS from the Twilio emulator's outbox, the code through the answer
 * link, the status link polled until `true`) and issues an ACS token. The client lives in a
 * temporary folder and is never committed. Without Kiota (no cache, no `dotnet`, no NuGet) the
 * test fails and says why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KIOTA_VERSION, restoreKiota, run } from '../../scripts/dotnet-tools';
import { startAppWithEmulators, type AppStack } from '../helpers/app-on-local-runtime';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Kiota's own limits, which it reports as warnings although the document is valid OpenAPI 3.1:
 * each is allowed by an exact pattern and a reason. Any other warning fails the test.
 */
const KIOTA_LIMITS: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
  {
    pattern:
      /^OpenAPI warning: #\/\S+ - The format (uri|email) is not supported by Kiota and the string type will be used\.$/,
    reason:
      'Kiota maps `format: uri` and `format: email` to plain strings; the formats stay in the document for validators and readers',
  },
  {
    pattern:
      /^OpenAPI warning: #\/ - The schema StartVerificationRequest is a polymorphic type but does not define a discriminator\. This will result in serialization errors\.$/,
    reason:
      'the start body is a JSON string or an object: the JSON type tells them apart, so there is no property to discriminate on; the driver sends the object form and the run below proves it serializes',
  },
  {
    pattern:
      /^OpenAPI warning: #\/ - A servers entry \(v3\) or host \+ basePath \+ schemes properties \(v2\) was not present in the OpenAPI description\. The root URL will need to be set manually with the request adapter\.$/,
    reason:
      'the document says `servers: [{ url: "/" }]`, relative to its own URL as OpenAPI allows (the app builds it before it knows its public origin); Kiota reads a relative entry as none, and takes the origin it downloaded the document from',
  },
  {
    pattern: /^Unable to check for updates$/,
    reason:
      'Kiota asks GitHub for a newer Kiota, which the machine may not reach; nothing to do with the document',
  },
  {
    pattern: /^Discriminator PhoneNumber is not inherited from PhoneNumber\.$/,
    reason:
      'the same union: its string member is the PhoneNumber schema, which Kiota looks at as a would-be discriminator mapping',
  },
];

/**
 * Defects of Kiota's TypeScript output, which strict TypeScript reports in the generated files:
 * each is allowed by its file, error and message, with the reason. Any other error fails the test.
 */
const KIOTA_TYPESCRIPT_DEFECTS: readonly {
  readonly file: string;
  readonly error: string;
  readonly message: RegExp;
  readonly reason: string;
}[] = [
  {
    file: 'client/api/verifications/item/events/item/index.ts',
    error: 'TS2322',
    message:
      /^Type '\(writer: SerializationWriter, key: string, eventAnswer: Parsable \| EventAnswer \| undefined, isSerializingDerivedType\?: boolean\) => void' is not assignable to type '.*ModelSerializerFunction<Parsable> \| undefined'\.$/,
    reason:
      'the body of sendEventPostUri is a bare JSON string or number (the Durable raise-event shape the seed used); Kiota 1.38 writes a property serializer (with a `key` parameter) for such a union where a body serializer belongs, so it does not type-check and would send no body. The driver answers through the code link, whose body is an object',
  },
];

let stack: AppStack;
let kiota: string;
let work: string;

beforeAll(async () => {
  try {
    kiota = await restoreKiota();
  } catch (error) {
    throw new Error(
      `Kiota ${KIOTA_VERSION} is needed to generate the client and could not be restored from NuGet: ${(error as Error).message}`,
    );
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiota-client-'));
  // The generated code and the driver import @microsoft/kiota-* from the project's packages.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  stack = await startAppWithEmulators('kiota-client');
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

/** Kiota's log lines at warning level or above: `warn: Category[id]` then the indented message. */
function kiotaWarnings(log: string): string[] {
  const warnings: string[] = [];
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^(warn|fail|crit): /.test(lines[i]!)) warnings.push((lines[i + 1] ?? '').trim());
  }
  return warnings;
}

describe('a client generated by Kiota from /api/openapi.json', () => {
  let generated = false;

  it('generates TypeScript from the served document with no warning beyond Kiota’s known limits', async () => {
    const documentUrl = `${stack.host.url}/api/openapi.json`;
    expect((await fetch(documentUrl)).status).toBe(200);

    // Kiota downloads the document itself, as from any API.
    const result = await run(kiota, [
      'generate',
      '--language',
      'typescript',
      '--openapi',
      documentUrl,
      '--clear-cache',
      '--output',
      path.join(work, 'client'),
      '--class-name',
      'VerificationClient',
      '--namespace-name',
      'client',
      '--clean-output',
      '--log-level',
      'Warning',
    ]);
    const log = result.stdout + result.stderr;
    expect({ code: result.code, log: result.code === 0 ? '' : log }).toEqual({ code: 0, log: '' });
    const warnings = kiotaWarnings(log);
    expect(warnings.length).toBeGreaterThan(0); // Sanity: the log was read (the known limits show).
    const unexplained = warnings.filter((w) => !KIOTA_LIMITS.some((l) => l.pattern.test(w)));
    expect(unexplained).toEqual([]);
    expect(fs.existsSync(path.join(work, 'client', 'verificationClient.ts'))).toBe(true);
    generated = true;
  }, 120_000);

  it('compiles with strict TypeScript, completes a verification and issues an ACS token', async () => {
    expect(generated).toBe(true);
    fs.copyFileSync(
      path.join(__dirname, '..', 'kiota-client', 'driver.ts'),
      path.join(work, 'driver.ts'),
    );
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(
      path.join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          // The generated files' own `@ts-ignore` comments cover only their imports.
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          rootDir: '.',
          outDir: 'dist',
        },
        include: ['driver.ts', 'client/**/*.ts'],
      }),
    );
    const tsc = await run(process.execPath, [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      path.join(work, 'tsconfig.json'),
    ]);
    // tsc emits even when it reports errors; only the known defects may be among them.
    const errors = [
      ...(tsc.stdout + tsc.stderr).matchAll(/^(\S+)\(\d+,\d+\): error (TS\d+): (.*)$/gm),
    ];
    const unexplained = errors
      .map(([, file, error, message]) => ({
        file: path.relative(work, path.resolve(work, file!)),
        error: error!,
        message: message!,
      }))
      .filter(
        (e) =>
          !KIOTA_TYPESCRIPT_DEFECTS.some(
            (d) => d.file === e.file && d.error === e.error && d.message.test(e.message),
          ),
      );
    expect(unexplained).toEqual([]);
    expect({ code: tsc.code, output: errors.length === 0 ? '' : 'errors' }).toEqual(
      errors.length === 0 ? { code: 0, output: '' } : { code: 2, output: 'errors' },
    );
    expect(fs.existsSync(path.join(work, 'dist', 'driver.js'))).toBe(true);

    const phone = '+14255557301';
    const driver = await run(process.execPath, [path.join(work, 'dist', 'driver.js')], {
      env: {
        API_BASE_URL: stack.host.url,
        TWILIO_EMULATOR_URL: stack.twilio.url,
        FUNCTION_KEY: stack.host.keys.functionKey,
        PHONE: phone,
      },
      timeoutMs: 60_000,
    });
    expect({ code: driver.code, stderr: driver.stderr }).toEqual({ code: 0, stderr: '' });
    const seen = JSON.parse(driver.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(seen).toMatchObject({ smsTo: phone, runtimeStatus: 'Completed', output: true });
    expect(seen.communicationUserId).toMatch(/^8:acs:/);
    expect(seen.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(new Date(String(seen.expiresOn)).getTime()).toBeGreaterThan(0);
  }, 180_000);
});
