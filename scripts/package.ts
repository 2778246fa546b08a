/**
 * `npm run package`: assembles exactly what Azure runs into `.package/app` (and `.package/app.zip`
 * when a `zip` tool is installed): the app's build output (`dist/src`), `host.json`, a `package.json`
 * reduced to what the host reads, and the packages its production `dependencies` load, resolved the way
 * Node does. The workspace packages (runtime, emulators, bench) live under `packages/` and are no
 * dependency of the app, so nothing has to be filtered out. Deploy the folder (`azd deploy`, or
 * `func azure functionapp publish <app>` run inside it). Run after `npm run build` (the npm script does both).
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

interface Manifest {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
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

/** Where Node finds `name` from `fromDir`: the nearest `node_modules/<name>` up the tree. */
function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Copies the app's production dependencies and theirs, each at the path it has under the root (so Node
 * resolves them there as here), each without its own nested `node_modules`, whose packages are copied
 * only when something resolves to them.
 */
function copyProductionModules(outDir: string): number {
  const copied = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    const location = resolvePackage(name, fromDir);
    if (location === undefined) {
      // Optional packages for other platforms are declared but not installed.
      if (optional) return;
      throw new Error(
        `${name} (needed from ${path.relative(ROOT, fromDir) || '.'}) is not installed`,
      );
    }
    if (copied.has(location)) return;
    copied.add(location);
    const nested = path.join(location, 'node_modules');
    fs.cpSync(location, path.join(outDir, path.relative(ROOT, location)), {
      recursive: true,
      filter: (file) => file !== nested && !file.startsWith(nested + path.sep),
    });
    const manifest = readJson<Manifest>(path.join(location, 'package.json'));
    const optionalNames = Object.keys(manifest.optionalDependencies ?? {});
    for (const dependency of Object.keys(manifest.dependencies ?? {}))
      if (!optionalNames.includes(dependency)) visit(dependency, location, false);
    for (const dependency of optionalNames) visit(dependency, location, true);
  };
  for (const dependency of Object.keys(
    readJson<Manifest>(path.join(ROOT, 'package.json')).dependencies ?? {},
  ))
    visit(dependency, ROOT, false);
  return copied.size;
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
