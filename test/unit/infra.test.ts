/**
 * What can be checked of the azd template without Bicep or an Azure account: every setting the
 * code reads is set by infra/ or documented as optional, no key or connection string is in the
 * template, secrets come from Key Vault, each module gets exactly its parameters, and every
 * parameter and role is documented (docs/settings.md, docs/deployment.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadSettings } from '../../src/composition';
import { loadTelemetrySettings } from '../../src/telemetry/settings';

const ROOT = path.resolve(__dirname, '..', '..');
const INFRA = path.join(ROOT, 'infra');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Every setting name the loaders look up, recorded by handing them an environment that records reads. */
function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const recorder = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get: (_target, key) => {
        if (typeof key === 'string') names.add(key);
        return undefined;
      },
    },
  );
  try {
    loadSettings(recorder);
  } catch {
    // Every required setting is missing, so loadSettings reports them all: the reads are what count.
  }
  loadTelemetrySettings(recorder);
  // Direct reads anywhere in the deployed app, should any bypass the loaders.
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*'([^']+)'\s*\])/g)) {
      names.add(match[1] ?? match[2]!);
    }
  }
  return names;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function infraFiles(dir = INFRA): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? infraFiles(full) : [full];
  });
}

/** The app settings api.bicep gives the Function App: name → Bicep value expression. */
function infraAppSettings(): Map<string, string> {
  const bicep = read('infra/app/api.bicep');
  const start = bicep.indexOf('var coreSettings');
  const end = bicep.indexOf("resource appSettings 'Microsoft.Web/sites/config");
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const settings = new Map<string, string>();
  for (const match of bicep.slice(start, end).matchAll(/^\s*([A-Za-z][\w]*)\s*:\s*(.+)$/gm)) {
    settings.set(match[1]!, match[2]!.trim());
  }
  for (const match of bicep.slice(start, end).matchAll(/\{\s*([A-Za-z][\w]*)\s*:\s*([^}]+)\}/g)) {
    settings.set(match[1]!, match[2]!.trim());
  }
  return settings;
}

interface ReadmeSetting {
  readonly name: string;
  readonly default: string;
  readonly secret: boolean;
}

/** The settings table of docs/settings.md (section "Every setting"). */
function readmeSettings(): Map<string, ReadmeSetting> {
  const readme = read('docs/settings.md');
  const section = readme.slice(
    readme.indexOf('## Every setting'),
    readme.indexOf('\n## ', readme.indexOf('## Every setting') + 1),
  );
  const rows = new Map<string, ReadmeSetting>();
  for (const match of section.matchAll(/^\|\s*`([^`]+)`\s*\|[^|]*\|([^|]*)\|([^|]*)\|\s*$/gm)) {
    rows.set(match[1]!, {
      name: match[1]!,
      default: match[2]!.trim(),
      secret: match[3]!.trim() === 'yes',
    });
  }
  return rows;
}

function deploySection(): string {
  const readme = read('docs/deployment.md');
  const start = readme.indexOf('## Deploy to Azure');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('infra/: app settings', () => {
  const codeReads = settingsTheCodeReads();
  const infra = infraAppSettings();
  const documented = readmeSettings();

  it('discovers the settings from the code (sanity: the secrets and the telemetry switch are among them)', () => {
    for (const name of [
      'TwilioAuthToken',
      'VERIFICATION_CODE_SECRET',
      'COMMUNICATION_SERVICES_ENDPOINT',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]) {
      expect(codeReads).toContain(name);
    }
  });

  it('sets every setting the code reads, or docs/settings.md documents it as optional', () => {
    const unmet = [...codeReads].filter((name) => {
      if (infra.has(name)) return false;
      // Identity-based connections: <name>__accountName instead of a connection string.
      if (infra.has(`${name}__accountName`)) return false;
      const row = documented.get(name);
      if (row === undefined) return true;
      const alternative = /^required unless `([^`]+)`/.exec(row.default)?.[1];
      if (alternative !== undefined) return !infra.has(alternative);
      return row.default.startsWith('required');
    });
    expect(unmet).toEqual([]);
  });

  it('documents every setting the code reads in the docs/settings.md table', () => {
    const undocumented = [...codeReads].filter((name) => !documented.has(name));
    expect(undocumented).toEqual([]);
  });

  it('takes every secret setting from Key Vault, or leaves it unset', () => {
    const secrets = [...documented.values()].filter((row) => row.secret).map((row) => row.name);
    expect(secrets).toEqual(
      expect.arrayContaining(['TwilioAuthToken', 'VERIFICATION_CODE_SECRET']),
    );
    for (const name of secrets) {
      const value = infra.get(name);
      if (value !== undefined)
        expect(value).toMatch(
          /^'@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=\$\{\w+\}\)'$/,
        );
    }
    expect(infra.get('TwilioAuthToken')).toBeDefined();
    expect(infra.get('VERIFICATION_CODE_SECRET')).toBeDefined();
  });

  it('reaches storage by identity: accountName, credential and clientId, never a connection string', () => {
    expect(infra.has('AzureWebJobsStorage')).toBe(false);
    expect(infra.get('AzureWebJobsStorage__accountName')).toBeDefined();
    expect(infra.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(infra.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(infra.has('COMMUNICATION_SERVICES_CONNECTION_STRING')).toBe(false);
    expect(infra.get('COMMUNICATION_SERVICES_ENDPOINT')).toBeDefined();
  });

  it('does not set FUNCTIONS_WORKER_RUNTIME, which Flex Consumption rejects', () => {
    expect(infra.has('FUNCTIONS_WORKER_RUNTIME')).toBe(false);
    expect(read('infra/app/api.bicep')).toMatch(/runtime: \{\s*name: 'node'\s*version: '20'/);
  });
});

describe('infra/: no keys', () => {
  const files = [...infraFiles(), path.join(ROOT, 'azure.yaml')];

  it.each([
    ['storage account key', /AccountKey\s*=/i],
    ['SAS token', /SharedAccessSignature|[?&]sig=/i],
    ['listKeys() call', /\blist(?:Keys|ConnectionStrings|AccountSas|ServiceSas)\s*\(/i],
    ['ACS access key', /accesskey\s*=/i],
    ['storage connection string', /DefaultEndpointsProtocol|UseDevelopmentStorage/i],
    ['instrumentation key', /InstrumentationKey\s*=/i],
    ['primary or secondary key', /(?:primary|secondary)(?:Master)?Key/i],
    ['secure output', /@secure\(\)\s*output/],
    ['long base64 literal', /'[A-Za-z0-9+/]{40,}={0,2}'/],
  ])('contains no %s', (_what, pattern) => {
    const offending = files.filter((file) => pattern.test(fs.readFileSync(file, 'utf8')));
    expect(offending.map((file) => path.relative(ROOT, file))).toEqual([]);
  });

  it('turns key access off on every service that has it', () => {
    expect(read('infra/app/storage.bicep')).toMatch(/allowSharedKeyAccess: false/);
    expect(read('infra/app/communication.bicep')).toMatch(/disableLocalAuth: true/);
    expect(read('infra/app/monitoring.bicep')).toMatch(/DisableLocalAuth: true/);
    expect(read('infra/app/keyvault.bicep')).toMatch(/enableRbacAuthorization: true/);
    expect(read('infra/app/api.bicep')).toMatch(/name: 'scm'\s*properties: \{\s*allow: false/);
  });
});

/** `param` declarations of a Bicep file: name → has a default. */
function bicepParams(text: string): Map<string, boolean> {
  const params = new Map<string, boolean>();
  for (const match of text.matchAll(/^param (\w+) [\w.]+( = .+)?$/gm)) {
    params.set(match[1]!, match[2] !== undefined);
  }
  return params;
}

/** The text of the `{ ... }` block that starts at `open`. */
function block(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error('unbalanced braces');
}

/** Keys at the top level of a block's text. */
function topLevelKeys(body: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    const key = depth === 0 ? /^\s*(\w+)\s*:/.exec(line)?.[1] : undefined;
    if (key !== undefined) keys.push(key);
    depth += (line.match(/[{[]/g) ?? []).length - (line.match(/[}\]]/g) ?? []).length;
  }
  return keys;
}

describe('infra/: modules and parameters', () => {
  const main = read('infra/main.bicep');

  it('passes every module exactly the parameters it declares, and all it requires', () => {
    const modules = [...main.matchAll(/^module (\w+) '([^']+)' = \{/gm)];
    expect(modules.length).toBeGreaterThanOrEqual(6);
    for (const module of modules) {
      const moduleBody = block(main, module.index + module[0].length - 1);
      const paramsAt = moduleBody.indexOf('params: {');
      const passed = topLevelKeys(block(moduleBody, paramsAt + 'params: '.length));
      const declared = bicepParams(read(path.join('infra', module[2]!)));
      expect({ module: module[1], unknown: passed.filter((p) => !declared.has(p)) }).toEqual({
        module: module[1],
        unknown: [],
      });
      const missing = [...declared].filter(
        ([name, hasDefault]) => !hasDefault && !passed.includes(name),
      );
      expect({ module: module[1], missing: missing.map(([name]) => name) }).toEqual({
        module: module[1],
        missing: [],
      });
    }
  });

  it('maps every main.bicep parameter without a default to an azd environment value, and no others', () => {
    const declared = bicepParams(main);
    const file = JSON.parse(read('infra/main.parameters.json')) as {
      parameters: Record<string, { value: string }>;
    };
    for (const name of Object.keys(file.parameters)) expect(declared.has(name)).toBe(true);
    for (const [name, hasDefault] of declared) {
      if (!hasDefault && name !== 'verificationCodeSecret')
        expect(Object.keys(file.parameters)).toContain(name);
    }
    // azd generates this one (metadata type 'generate') and keeps it in the environment.
    expect(main).toMatch(/type: 'generate'[\s\S]*?\nparam verificationCodeSecret string/);
  });

  it('documents every parameter and its azd environment variable in docs/deployment.md', () => {
    const section = deploySection();
    const file = JSON.parse(read('infra/main.parameters.json')) as {
      parameters: Record<string, { value: string }>;
    };
    for (const name of bicepParams(main).keys()) {
      expect({ name, documented: section.includes(`\`${name}\``) }).toEqual({
        name,
        documented: true,
      });
    }
    for (const { value } of Object.values(file.parameters)) {
      const variable = /^\$\{(\w+)/.exec(value)?.[1];
      expect(variable).toBeDefined();
      expect({ variable, documented: section.includes(`\`${variable}\``) }).toEqual({
        variable,
        documented: true,
      });
    }
  });

  it('names every role it assigns, with its id, in docs/deployment.md', () => {
    const rbac = read('infra/app/rbac.bicep');
    const roles = [
      ...block(rbac, rbac.indexOf('var roles = {') + 'var roles = '.length).matchAll(
        /(\w+): '([0-9a-f-]{36})'/g,
      ),
    ];
    expect(roles.length).toBe(6);
    const assigned = [...rbac.matchAll(/roleDefinitions', roles\.(\w+)\)/g)].map((m) => m[1]);
    expect(new Set(assigned)).toEqual(new Set(roles.map((r) => r[1])));
    const section = deploySection();
    for (const [, , id] of roles) expect(section).toContain(id!);
    // Scoped to the resource each is for, never the group or subscription.
    expect(rbac).not.toMatch(/scope: (resourceGroup|subscription)\(\)/);
  });

  it('says in docs/deployment.md that Bicep and azd were not run here', () => {
    expect(deploySection()).toMatch(/not been run|cannot run|could not be run/i);
  });
});
