/**
 * `npm run infra:check`: the Azure template through the real Bicep compiler. Restores the pinned
 * compiler from NuGet into the cache (scripts/dotnet-tools.ts) unless it is there, lints every
 * module of `infra/` with the rules of `infra/bicepconfig.json`, builds `infra/main.bicep` into
 * `dist/infra/main.json` and snapshots it with sample parameters (`dist/infra/sample.snapshot.json`).
 * Fails on any error or warning: a finding is fixed, or suppressed in the Bicep file with
 * `#disable-next-line <rule>` and a comment that says why.
 *
 * Options: --out <dir> (default dist/infra).
 */
import * as path from 'node:path';

import { bicepFiles, buildInfra, formatDiagnostic, lintInfra, type BicepDiagnostic } from './bicep';
import { BICEP_VERSION, restoreBicep, ToolUnavailableError } from './dotnet-tools';

// Compiled to dist/scripts/infra-check.js; from the sources it is one level less deep.
const ROOT = path.resolve(__dirname, ...(__filename.endsWith('.js') ? ['..', '..'] : ['..']));

async function main(): Promise<number> {
  const outIndex = process.argv.indexOf('--out');
  const outDir = path.resolve(
    outIndex >= 0 ? (process.argv[outIndex + 1] ?? '') : path.join(ROOT, 'dist', 'infra'),
  );
  const infraDir = path.join(ROOT, 'infra');

  const started = Date.now();
  const bicep = await restoreBicep();
  const restored = Date.now();
  console.log(`Bicep CLI ${BICEP_VERSION}: ${bicep} (${seconds(restored - started)})`);

  const files = bicepFiles(infraDir).map((file) => path.relative(ROOT, file));
  console.log(`Linting ${files.length} files: ${files.join(', ')}`);
  const lint = await lintInfra(bicep, infraDir);
  const build = await buildInfra(bicep, infraDir, outDir);
  const findings = unique([...lint, ...build.diagnostics]);
  for (const finding of findings) console.log(formatDiagnostic(finding, ROOT));
  console.log(
    `bicep lint + build + snapshot: ${findings.length} finding(s) (${seconds(Date.now() - restored)})`,
  );
  if (findings.length > 0) return 1;
  console.log(`ARM template: ${path.relative(ROOT, build.templatePath)}`);
  console.log(`Snapshot:     ${path.relative(ROOT, build.snapshotPath)}`);
  return 0;
}

/** Linting main.bicep reports its modules' findings too; each is printed once. */
function unique(findings: readonly BicepDiagnostic[]): BicepDiagnostic[] {
  const seen = new Map<string, BicepDiagnostic>();
  for (const f of findings) seen.set(`${f.file}:${f.line}:${f.code}:${f.message}`, f);
  return [...seen.values()];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      error instanceof ToolUnavailableError
        ? `The Bicep compiler is not available: ${error.message}`
        : error,
    );
    process.exitCode = 1;
  },
);
