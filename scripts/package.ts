/**
 * `npm run package`: assembles exactly what Azure runs into `.package/app` (and `.package/app.zip`
 * when a `zip` tool is installed): the compiled app (`dist/src`), `host.json`, a `package.json`
 * reduced to what the host reads, and the production `node_modules` named by `package-lock.json`.
 * Nothing else: no sources, tests, local runtime, emulators or dev dependencies. Run after
 * `npm run build` (the npm script does both).
 *
 * Options: --out <dir> (default .package/app), --no-zip.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Compiled to dist/scripts/package.js; from the sources (ts-node, jest) it is one level less deep.
const ROOT = path.resolve(__dirname, ...(__filename.endsWith('.js') ? ['..', '..'] : ['..']));

/** The package.json fields the Functions host and the Node.js worker read. */
const KEPT_PACKAGE_FIELDS = [
  'name',
  'version',
  'description',
  'private',
  'license',
  'main',
  'engines',
  'dependencies',
] as const;

interface LockEntry {
  readonly dev?: boolean;
  readonly link?: boolean;
}

interface PackageLock {
  readonly packages: Readonly<Record<string, LockEntry>>;
}

export interface PackageResult {
  readonly appDir: string;
  readonly zipFile: string | undefined;
  readonly modules: number;
}

export function buildPackage(outDir: string, options: { zip: boolean }): PackageResult {
  const builtApp = path.join(ROOT, 'dist', 'src');
  if (!fs.existsSync(path.join(builtApp, 'index.js'))) {
    throw new Error('dist/src/index.js is missing: run "npm run build" first.');
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  fs.cpSync(builtApp, path.join(outDir, 'dist', 'src'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'host.json'), path.join(outDir, 'host.json'));
  fs.writeFileSync(
    path.join(outDir, 'package.json'),
    `${JSON.stringify(deployedManifest(), null, 2)}\n`,
  );
  const modules = copyProductionModules(outDir);

  let zipFile: string | undefined;
  if (options.zip && hasZipTool()) {
    zipFile = `${outDir}.zip`;
    fs.rmSync(zipFile, { force: true });
    const zipped = spawnSync('zip', ['-q', '-r', '-X', zipFile, '.'], {
      cwd: outDir,
      stdio: 'inherit',
    });
    if (zipped.status !== 0) throw new Error(`zip failed with status ${String(zipped.status)}`);
  }
  return { appDir: outDir, zipFile, modules };
}

function deployedManifest(): Record<string, unknown> {
  const manifest = readJson<Record<string, unknown>>(path.join(ROOT, 'package.json'));
  return Object.fromEntries(
    KEPT_PACKAGE_FIELDS.filter((field) => manifest[field] !== undefined).map((field) => [
      field,
      manifest[field],
    ]),
  );
}

/**
 * Copies every package the lock file does not mark `dev` (what `npm ci --omit=dev` installs),
 * each without its own nested `node_modules`, which the lock lists as separate entries.
 */
function copyProductionModules(outDir: string): number {
  const lock = readJson<PackageLock>(path.join(ROOT, 'package-lock.json'));
  let copied = 0;
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!location.startsWith('node_modules/') || entry.dev === true || entry.link === true)
      continue;
    const source = path.join(ROOT, location);
    // Optional packages for other platforms are in the lock but not installed.
    if (!fs.existsSync(source)) continue;
    const nested = path.join(source, 'node_modules');
    fs.cpSync(source, path.join(outDir, location), {
      recursive: true,
      filter: (file) => file !== nested && !file.startsWith(nested + path.sep),
    });
    copied++;
  }
  return copied;
}

function hasZipTool(): boolean {
  return spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function main(argv: readonly string[]): void {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : undefined;
  if (outIndex >= 0 && out === undefined) throw new Error('--out needs a directory');
  const outDir = path.resolve(out ?? path.join(ROOT, '.package', 'app'));
  const zip = !argv.includes('--no-zip');
  const result = buildPackage(outDir, { zip });
  const zipNote =
    result.zipFile !== undefined
      ? ` and ${path.relative(process.cwd(), result.zipFile)}`
      : zip
        ? '; no zip tool installed, folder only'
        : '';
  console.log(
    `Packaged ${path.relative(process.cwd(), result.appDir) || '.'} (${result.modules} production packages)${zipNote}`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2));
}
