/**
 * The two .NET tools the checks use, restored from NuGet by the machine's own `dotnet` into a cache
 * outside the repository (`$XDG_CACHE_HOME` or `~/.cache`, then `bicep/<version>` and
 * `kiota/<version>`) and reused from there on every later run:
 * - the Bicep compiler (`npm run infra:check`, test/unit/infra-template.test.ts), from the NuGet
 *   package `Azure.Bicep.CommandLine.<runtime id>`, which carries the native `bicep` executable;
 * - Kiota (test/integration/kiota-client.test.ts), the `Microsoft.OpenApi.Kiota` .NET tool.
 * Both versions are pinned, so the linter's and the generator's findings change only with this file.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BICEP_VERSION = '0.49.2';
export const KIOTA_VERSION = '1.38.0';

/** A tool that is neither cached nor restorable here; the message says what is missing. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const QUIET_DOTNET = {
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_NOLOGO: '1',
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
};

/**
 * Runs a program to completion without blocking the event loop (a test's in-process host keeps
 * serving meanwhile). Never rejects for a non-zero exit: callers read `code`.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...QUIET_DOTNET, ...options.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 300_000,
      },
      (error, stdout, stderr) => {
        // No exit code: it did not start (ENOENT) or was killed (timeout).
        if (error && typeof error.code !== 'number') {
          reject(error instanceof Error ? error : new Error(`${file} did not run`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

export function toolCacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg !== undefined && xdg !== '' ? xdg : path.join(os.homedir(), '.cache');
}

/** The Bicep compiler, restored on first use. Returns the path of the `bicep` executable. */
export async function restoreBicep(): Promise<string> {
  const dir = path.join(toolCacheRoot(), 'bicep', BICEP_VERSION);
  const executable = path.join(dir, process.platform === 'win32' ? 'bicep.exe' : 'bicep');
  if (await answersVersion(executable, BICEP_VERSION)) return executable;

  const runtimeId = bicepRuntimeId();
  const packageId = `Azure.Bicep.CommandLine.${runtimeId}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bicep-restore-'));
  try {
    // A throwaway project whose only job is to download the package: `dotnet restore` is the
    // ordinary NuGet client, so the machine's sources, proxy and certificates all apply.
    const project = path.join(work, 'restore.csproj');
    fs.writeFileSync(
      project,
      `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>${await targetFramework()}</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="${packageId}" Version="[${BICEP_VERSION}]" /></ItemGroup>
</Project>
`,
    );
    const packages = path.join(work, 'packages');
    const restore = await dotnet(['restore', project, '--packages', packages]);
    if (restore.code !== 0) {
      throw new ToolUnavailableError(
        `dotnet restore of ${packageId} ${BICEP_VERSION} failed (exit ${restore.code}):\n${tail(restore.stdout + restore.stderr)}`,
      );
    }
    const restored = path.join(
      packages,
      packageId.toLowerCase(),
      BICEP_VERSION,
      'tools',
      path.basename(executable),
    );
    install(restored, executable);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (!(await answersVersion(executable, BICEP_VERSION))) {
    throw new ToolUnavailableError(`${executable} does not answer --version ${BICEP_VERSION}`);
  }
  return executable;
}

/** Kiota, installed as a .NET tool on first use. Returns the path of the `kiota` executable. */
export async function restoreKiota(): Promise<string> {
  const dir = path.join(toolCacheRoot(), 'kiota', KIOTA_VERSION);
  const executable = path.join(dir, process.platform === 'win32' ? 'kiota.exe' : 'kiota');
  if (await answersVersion(executable, KIOTA_VERSION)) return executable;
  fs.rmSync(dir, { recursive: true, force: true });
  const install = await dotnet([
    'tool',
    'install',
    '--tool-path',
    dir,
    'Microsoft.OpenApi.Kiota',
    '--version',
    KIOTA_VERSION,
  ]);
  if (install.code !== 0 || !(await answersVersion(executable, KIOTA_VERSION))) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new ToolUnavailableError(
      `dotnet tool install Microsoft.OpenApi.Kiota ${KIOTA_VERSION} failed (exit ${install.code}):\n${tail(install.stdout + install.stderr)}`,
    );
  }
  return executable;
}

/** Copies a file into place atomically, so a concurrent run never sees half an executable. */
function install(source: string, target: string): void {
  if (!fs.existsSync(source)) {
    throw new ToolUnavailableError(`the restored package has no ${path.basename(source)}`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  fs.copyFileSync(source, partial);
  fs.chmodSync(partial, 0o755);
  fs.renameSync(partial, target);
}

async function answersVersion(executable: string, version: string): Promise<boolean> {
  if (!fs.existsSync(executable)) return false;
  try {
    const result = await run(executable, ['--version'], { timeoutMs: 60_000 });
    return result.code === 0 && result.stdout.includes(version);
  } catch {
    return false;
  }
}

async function dotnet(args: readonly string[]): Promise<RunResult> {
  try {
    return await run('dotnet', args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ToolUnavailableError(
        'the .NET SDK (`dotnet`) is not on PATH, and it restores the Bicep compiler and Kiota from NuGet: install the .NET SDK (8 or later)',
      );
    }
    throw error;
  }
}

/** `net<major>.0` of the installed SDK: the restore project must target a framework it knows. */
async function targetFramework(): Promise<string> {
  const version = await dotnet(['--version']);
  const major = /^(\d+)\./.exec(version.stdout.trim())?.[1];
  if (version.code !== 0 || major === undefined) {
    throw new ToolUnavailableError(`dotnet --version answered ${JSON.stringify(version.stdout)}`);
  }
  return `net${major}.0`;
}

/** The runtime ids the Bicep CLI is published for on NuGet. */
function bicepRuntimeId(): string {
  const systems: Partial<Record<string, string>> = { linux: 'linux', darwin: 'osx', win32: 'win' };
  const arches: Partial<Record<string, string>> = { x64: 'x64', arm64: 'arm64' };
  const system = systems[process.platform];
  const arch = arches[process.arch];
  if (system === undefined || arch === undefined) {
    throw new ToolUnavailableError(`no Bicep CLI package for ${process.platform}-${process.arch}`);
  }
  return `${system}-${arch}`;
}

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
