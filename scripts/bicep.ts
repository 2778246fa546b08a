/**
 * The real Bicep compiler on `infra/`: `bicep lint` on every module, `bicep build` of `main.bicep`
 * into ARM JSON, and `bicep snapshot` of that template with sample parameters (the resources
 * the deployment would create, with every expression evaluated that does not need Azure). Used
 * by `npm run infra:check` (scripts/infra-check.ts) and by test/unit/infra-template.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { run } from './dotnet-tools';

/** One warning or error of the compiler or the linter. */
export interface BicepDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly level: string;
  readonly code: string;
  readonly message: string;
}

/** The sample deployment the snapshot evaluates: fixed, so the snapshot is the same on every run. */
export const SNAPSHOT_SCOPE = {
  subscriptionId: '00000000-0000-4000-8000-000000000001',
  tenantId: '00000000-0000-4000-8000-000000000002',
  location: 'eastus2',
} as const;

/**
 * Sample values for main.bicep's parameters. The secure ones are markers that a test can search
 * for: they may appear in the Key Vault secrets and nowhere else.
 */
export const SNAPSHOT_PARAMETERS = {
  environmentName: 'ci',
  location: SNAPSHOT_SCOPE.location,
  twilioAccountSid: 'AC00000000000000000000000000000001',
  twilioAuthToken: 'snapshot-secret-twilio-auth-token',
  twilioPhoneNumber: '+14255550100',
  // The optional channels on, so the snapshot shows their settings.
  twilioVoiceFrom: '+14255550101',
  twilioWhatsAppFrom: '+14255550102',
  twilioWhatsAppContentSid: 'HX00000000000000000000000000000001',
  verificationCodeSecret: 'snapshot-secret-verification-code-secret',
  verifyApiAuthToken: 'snapshot-secret-verify-api-auth-token-0000',
} as const;

export interface InfraBuild {
  /** The ARM JSON `bicep build` wrote. */
  readonly templatePath: string;
  /** The predicted resources and outputs `bicep snapshot` wrote. */
  readonly snapshotPath: string;
  /** Warnings and errors of the build and the snapshot (both apply the linter too). */
  readonly diagnostics: readonly BicepDiagnostic[];
}

/** Every `.bicep` file under `infraDir`. */
export function bicepFiles(infraDir: string): string[] {
  return fs
    .readdirSync(infraDir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.bicep'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/**
 * `bicep lint` on every `.bicep` file under `infraDir`, in one run of the compiler (`--pattern`):
 * every finding, whatever its level.
 */
export async function lintInfra(bicep: string, infraDir: string): Promise<BicepDiagnostic[]> {
  const result = await run(bicep, ['lint', '--pattern', '**/*.bicep'], { cwd: infraDir });
  const findings = parseText(result.stdout + result.stderr);
  if (result.code !== 0 && !findings.some((f) => f.level === 'error')) {
    findings.push(failure(infraDir, `bicep lint exited ${result.code}: ${result.stderr.trim()}`));
  }
  return findings;
}

/** `bicep build` and `bicep snapshot` of `main.bicep` into `outDir`. */
export async function buildInfra(
  bicep: string,
  infraDir: string,
  outDir: string,
): Promise<InfraBuild> {
  fs.mkdirSync(outDir, { recursive: true });
  const main = path.join(infraDir, 'main.bicep');
  const templatePath = path.join(outDir, 'main.json');
  fs.rmSync(templatePath, { force: true });
  const build = await run(bicep, ['build', main, '--outfile', templatePath]);
  const diagnostics = parseText(build.stderr);
  if (build.code !== 0 || !fs.existsSync(templatePath)) {
    diagnostics.push(failure(main, `bicep build exited ${build.code}: ${build.stderr.trim()}`));
  }

  // A .bicepparam must name its template by a relative path.
  const paramsFile = path.join(outDir, 'sample.bicepparam');
  const using = path.relative(outDir, main).split(path.sep).join('/');
  const lines = Object.entries(SNAPSHOT_PARAMETERS).map(
    ([name, value]) => `param ${name} = '${value}'`,
  );
  fs.writeFileSync(paramsFile, [`using '${using}'`, ...lines, ''].join('\n'));
  const snapshotPath = path.join(outDir, 'sample.snapshot.json');
  fs.rmSync(snapshotPath, { force: true });
  const snapshot = await run(bicep, [
    'snapshot',
    paramsFile,
    '--mode',
    'overwrite',
    '--subscription-id',
    SNAPSHOT_SCOPE.subscriptionId,
    '--tenant-id',
    SNAPSHOT_SCOPE.tenantId,
    '--location',
    SNAPSHOT_SCOPE.location,
  ]);
  // The snapshot compiles main.bicep again: its linter findings repeat the build's.
  const snapshotErrors = parseText(snapshot.stderr).filter((d) => d.level === 'error');
  diagnostics.push(...snapshotErrors);
  if (snapshot.code !== 0 || !fs.existsSync(snapshotPath)) {
    diagnostics.push(
      failure(paramsFile, `bicep snapshot exited ${snapshot.code}: ${snapshot.stderr.trim()}`),
    );
  }
  return { templatePath, snapshotPath, diagnostics };
}

export function formatDiagnostic(d: BicepDiagnostic, root: string): string {
  return `${path.relative(root, d.file)}:${d.line}: ${d.level} ${d.code}: ${d.message}`;
}

/** `path(line,col) : Warning code: message` lines, as the compiler prints them. */
function parseText(text: string): BicepDiagnostic[] {
  const found: BicepDiagnostic[] = [];
  for (const match of text.matchAll(/^(.+?)\((\d+),\d+\) : (\w+) ([\w-]+): (.*)$/gm)) {
    found.push({
      file: match[1]!,
      line: Number(match[2]),
      level: match[3]!.toLowerCase(),
      code: match[4]!,
      message: match[5]!,
    });
  }
  return found;
}

function failure(file: string, message: string): BicepDiagnostic {
  return { file, line: 0, level: 'error', code: 'exit', message };
}
