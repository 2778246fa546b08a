/**
 * The Azure template as the real Bicep compiler sees it. The test restores the pinned compiler
 * (scripts/dotnet-tools.ts: NuGet, cached outside the repository), lints every module, builds
 * `infra/main.bicep` into ARM JSON and snapshots that template with sample parameters: the
 * resources a deployment would create, every expression evaluated that does not need Azure. The
 * checks read that output, never the Bicep text. Without the compiler (no cache, no `dotnet`, no
 * NuGet) every test here fails and says why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  buildInfra,
  lintInfra,
  SNAPSHOT_PARAMETERS,
  SNAPSHOT_SCOPE,
  type BicepDiagnostic,
} from '../../scripts/bicep';
import { BICEP_VERSION, restoreBicep } from '../../scripts/dotnet-tools';
import { documentedSettings, settingsTheCodeReads, unmetSettings } from '../helpers/app-settings';

const ROOT = path.resolve(__dirname, '..', '..');

interface Resource {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly apiVersion: string;
  readonly location?: string;
  readonly kind?: string;
  readonly tags?: Record<string, string>;
  readonly sku?: { name?: string; tier?: string };
  readonly identity?: { type: string; userAssignedIdentities?: Record<string, unknown> };
  readonly properties?: Record<string, unknown>;
}

interface Snapshot {
  readonly predictedResources: Resource[];
  readonly outputs: Record<string, unknown>;
}

interface ArmTemplate {
  readonly parameters: Record<
    string,
    { type: string; metadata?: Record<string, unknown>; defaultValue?: unknown }
  >;
  readonly outputs: Record<string, { type: string }>;
}

/**
 * Every role the app's identity may hold: built-in role id -> the resource type it is assigned on
 * and why that role, and no broader one, is needed. The template must assign exactly these.
 */
const LEAST_PRIVILEGE_ROLES: Record<string, { role: string; on: string; reason: string }> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': {
    role: 'Storage Blob Data Owner',
    on: 'Microsoft.Storage/storageAccounts',
    reason:
      'the Functions host requires Owner (not Contributor) on blobs for AzureWebJobsStorage by identity; it also covers the task hub blobs and the Flex deployment package',
  },
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': {
    role: 'Storage Queue Data Contributor',
    on: 'Microsoft.Storage/storageAccounts',
    reason: "the Durable task hub's control and work-item queues: read, add, delete messages",
  },
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': {
    role: 'Storage Table Data Contributor',
    on: 'Microsoft.Storage/storageAccounts',
    reason:
      "the task hub's Instances and History tables, the guard's counters and the ACS identity map",
  },
  '3913510d-42f4-4e42-8a64-420c390055eb': {
    role: 'Monitoring Metrics Publisher',
    on: 'Microsoft.Insights/components',
    reason: 'Entra-authenticated telemetry ingestion: local auth is off on Application Insights',
  },
  '4633458b-17de-408a-b874-0445c86b69e6': {
    role: 'Key Vault Secrets User',
    on: 'Microsoft.KeyVault/vaults',
    reason:
      'reads the values behind the Key Vault references; cannot list, set or delete secrets, and the vault holds only this app’s secrets',
  },
  '09976791-48a7-449e-bb21-39d1a415f350': {
    role: 'Communication and Email Service Owner',
    on: 'Microsoft.Communication/communicationServices',
    reason:
      'ACS identities and tokens, SMS and email by Entra identity: ACS has no narrower built-in data-plane role; on the one ACS resource only',
  },
};

/** Roles that would give the app more than it uses, on any scope. */
const TOO_BROAD_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor (Owner is required)',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
};

/** The secure parameters: their values may reach Key Vault secrets and nothing else. */
const SECURE_PARAMETERS = ['twilioAuthToken', 'verificationCodeSecret', 'verifyApiAuthToken'];

/** App settings whose values are secrets: each must be a Key Vault reference. */
const SECRET_SETTINGS = [
  'TwilioAuthToken',
  'VERIFICATION_CODE_SECRET',
  'VERIFY_API_ACCOUNT_SID',
  'VERIFY_API_AUTH_TOKEN',
];

let template: ArmTemplate;
let templateText: string;
let snapshot: Snapshot;
let snapshotText: string;
let diagnostics: BicepDiagnostic[];
let outDir: string;

beforeAll(async () => {
  let bicep: string;
  try {
    bicep = await restoreBicep();
  } catch (error) {
    throw new Error(
      `The Bicep compiler ${BICEP_VERSION} is needed to check the compiled template and could not be restored from NuGet: ${(error as Error).message}`,
    );
  }
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-template-'));
  const infraDir = path.join(ROOT, 'infra');
  const build = await buildInfra(bicep, infraDir, outDir);
  diagnostics = [...(await lintInfra(bicep, infraDir)), ...build.diagnostics];
  templateText = fs.readFileSync(build.templatePath, 'utf8');
  template = JSON.parse(templateText) as ArmTemplate;
  snapshotText = fs.readFileSync(build.snapshotPath, 'utf8');
  snapshot = JSON.parse(snapshotText) as Snapshot;
}, 600_000);

afterAll(() => {
  if (outDir !== undefined) fs.rmSync(outDir, { recursive: true, force: true });
});

function resources(type: string): Resource[] {
  return snapshot.predictedResources.filter((r) => r.type === type);
}

function only(type: string): Resource {
  const found = resources(type);
  expect({ type, count: found.length }).toEqual({ type, count: 1 });
  return found[0]!;
}

function appSettings(): Record<string, unknown> {
  const config = resources('Microsoft.Web/sites/config').filter((r) =>
    r.name.endsWith('/appsettings'),
  );
  expect(config).toHaveLength(1);
  return config[0]!.properties!;
}

/** The ARM `reference('<id>', ...)` target of an unevaluated expression. */
function referencedId(value: unknown): string | undefined {
  return typeof value === 'string' ? /reference\('([^']+)'/.exec(value)?.[1] : undefined;
}

describe('infra/ through the Bicep compiler', () => {
  it('lints every module and builds with no error or warning', () => {
    expect(diagnostics.map((d) => `${path.relative(ROOT, d.file)}:${d.line} ${d.code}`)).toEqual(
      [],
    );
    expect(template.parameters).toBeDefined();
    expect(snapshot.predictedResources.length).toBeGreaterThan(20);
  });
});

describe('compiled template: app settings', () => {
  it('sets every setting the code reads, or docs/settings.md documents it as optional', () => {
    const settings = appSettings();
    const codeReads = settingsTheCodeReads();
    expect(codeReads).toContain('VERIFICATION_CODE_SECRET');
    expect(unmetSettings(codeReads, (name) => name in settings, documentedSettings())).toEqual([]);
  });

  it('takes every secret setting from a secret of the app’s Key Vault', () => {
    const settings = appSettings();
    const vault = only('Microsoft.KeyVault/vaults');
    const secretNames = new Set(
      resources('Microsoft.KeyVault/vaults/secrets').map((s) => s.name.split('/')[1]),
    );
    for (const name of SECRET_SETTINGS) {
      const reference = /^@Microsoft\.KeyVault\(VaultName=([^;]+);SecretName=([^)]+)\)$/.exec(
        String(settings[name]),
      );
      expect({ name, reference: reference !== null }).toEqual({ name, reference: true });
      expect(reference![1]).toBe(vault.name);
      expect(secretNames).toContain(reference![2]);
    }
    // References resolve as the app's user-assigned identity.
    const site = only('Microsoft.Web/sites');
    expect(site.properties!.keyVaultReferenceIdentity).toBe(identity().id);
  });

  it('reaches ACS identities, SMS and email by endpoint, never by connection string', () => {
    const settings = appSettings();
    const acs = only('Microsoft.Communication/communicationServices');
    for (const name of ['COMMUNICATION_SERVICES_ENDPOINT']) {
      expect({ name, target: referencedId(settings[name]) }).toEqual({ name, target: acs.id });
      expect(String(settings[name])).toContain('.hostName');
    }
    expect(settings).not.toHaveProperty('COMMUNICATION_SERVICES_CONNECTION_STRING');
    // Email leaves from the Azure-managed domain linked to that ACS resource.
    const domain = only('Microsoft.Communication/emailServices/domains');
    expect(domain.properties!.domainManagement).toBe('AzureManaged');
    expect(acs.properties!.linkedDomains).toEqual([domain.id]);
    expect(referencedId(settings.COMMUNICATION_SERVICES_EMAIL_SENDER)).toBe(domain.id);
  });

  it('sets the call and WhatsApp channels from their parameters, each only when they are given', () => {
    const settings = appSettings();
    expect({
      TwilioVoiceFrom: settings.TwilioVoiceFrom,
      TwilioWhatsAppFrom: settings.TwilioWhatsAppFrom,
      TwilioWhatsAppContentSid: settings.TwilioWhatsAppContentSid,
    }).toEqual({
      TwilioVoiceFrom: SNAPSHOT_PARAMETERS.twilioVoiceFrom,
      TwilioWhatsAppFrom: SNAPSHOT_PARAMETERS.twilioWhatsAppFrom,
      TwilioWhatsAppContentSid: SNAPSHOT_PARAMETERS.twilioWhatsAppContentSid,
    });
    // Empty parameters (the defaults) leave the settings out, so the channel stays off; WhatsApp needs both.
    expect(templateText).toContain(
      "if(empty(parameters('twilioVoiceFrom')), createObject(), createObject('TwilioVoiceFrom'",
    );
    expect(templateText).toContain(
      "if(or(empty(parameters('twilioWhatsAppFrom')), empty(parameters('twilioWhatsAppContentSid'))), createObject(),",
    );
    for (const name of ['twilioVoiceFrom', 'twilioWhatsAppFrom', 'twilioWhatsAppContentSid']) {
      const { defaultValue } = template.parameters[name] ?? {};
      expect({ name, defaultValue }).toEqual({ name, defaultValue: '' });
    }
  });

  it('leaves out the settings Flex Consumption rejects or sets itself', () => {
    const settings = appSettings();
    for (const name of [
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_NODE_DEFAULT_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
      'WEBSITE_CONTENTSHARE',
      'AzureWebJobsStorage',
    ]) {
      expect(settings).not.toHaveProperty(name);
    }
  });
});

describe('compiled template: no key or connection string anywhere', () => {
  it.each([
    ['list*() call (keys, connection strings, SAS)', /\blist\w*\(/i],
    ['storage account key', /AccountKey=/i],
    ['SAS token', /SharedAccessSignature|[?&]sig=/i],
    ['ACS access key', /accesskey=/i],
    ['storage connection string', /DefaultEndpointsProtocol|UseDevelopmentStorage/i],
    ['instrumentation key', /InstrumentationKey=/i],
  ])('contains no %s, in the template or the snapshot', (_what, pattern) => {
    expect(templateText).not.toMatch(pattern);
    expect(snapshotText).not.toMatch(pattern);
  });

  it('turns key access off on every service that has it', () => {
    const storage = only('Microsoft.Storage/storageAccounts');
    expect(storage.properties!.allowSharedKeyAccess).toBe(false);
    expect(storage.properties!.allowBlobPublicAccess).toBe(false);
    expect(only('Microsoft.Communication/communicationServices').properties!.disableLocalAuth).toBe(
      true,
    );
    expect(only('Microsoft.Insights/components').properties!.DisableLocalAuth).toBe(true);
    expect(only('Microsoft.KeyVault/vaults').properties!.enableRbacAuthorization).toBe(true);
    const policies = resources('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => [p.name.split('/')[1], p.properties!.allow]).sort()).toEqual([
      ['ftp', false],
      ['scm', false],
    ]);
  });

  it('declares every secret parameter secure, and its value reaches only Key Vault secrets', () => {
    for (const name of SECURE_PARAMETERS) {
      expect({ name, type: template.parameters[name]?.type }).toEqual({
        name,
        type: 'securestring',
      });
      const users = snapshot.predictedResources.filter((r) =>
        JSON.stringify(r).includes(`parameters('${name}')`),
      );
      expect(users.map((r) => r.type)).toEqual(['Microsoft.KeyVault/vaults/secrets']);
      expect(JSON.stringify(snapshot.outputs)).not.toContain(name);
    }
    expect(Object.values(template.outputs).map((o) => o.type)).not.toContain('securestring');
    expect(Object.values(template.outputs).map((o) => o.type)).not.toContain('secureObject');
  });
});

function identity(): Resource {
  return only('Microsoft.ManagedIdentity/userAssignedIdentities');
}

describe('compiled template: roles of the app identity', () => {
  const assignments = (): { roleId: string; scope: string; resource: Resource }[] =>
    resources('Microsoft.Authorization/roleAssignments').map((resource) => {
      const roleId = String(resource.properties!.roleDefinitionId).split('/').pop()!;
      const scope = resource.id.split('/providers/Microsoft.Authorization/roleAssignments/')[0]!;
      return { roleId, scope, resource };
    });

  it('assigns exactly the least-privilege roles of the table, each on the resource it is for', () => {
    const byType = new Map(snapshot.predictedResources.map((r) => [r.id, r.type]));
    const found = assignments().map(({ roleId, scope }) => ({
      role: LEAST_PRIVILEGE_ROLES[roleId]?.role ?? TOO_BROAD_ROLES[roleId] ?? roleId,
      on: byType.get(scope) ?? scope,
    }));
    const expected = Object.values(LEAST_PRIVILEGE_ROLES).map(({ role, on }) => ({ role, on }));
    const order = (a: { role: string }, b: { role: string }): number =>
      a.role.localeCompare(b.role);
    expect(found.sort(order)).toEqual(expected.sort(order));
    for (const { reason } of Object.values(LEAST_PRIVILEGE_ROLES)) {
      expect(reason.length).toBeGreaterThan(20);
    }
  });

  it('never scopes a role to the subscription or the resource group, nor grants a broad role', () => {
    for (const { roleId, scope } of assignments()) {
      expect(scope).toMatch(/\/providers\/Microsoft\.\w+\/\w+\/[^/]+$/);
      expect(TOO_BROAD_ROLES[roleId]).toBeUndefined();
    }
  });

  it('grants them to the app’s user-assigned identity, by stable names', () => {
    const id = identity().id;
    for (const { resource } of assignments()) {
      expect(referencedId(resource.properties!.principalId)).toBe(id);
      expect(resource.properties!.principalType).toBe('ServicePrincipal');
      // The name is a GUID known before deployment, so redeployments update rather than duplicate.
      expect(resource.name).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    }
  });
});

describe('compiled template: identity-based storage only', () => {
  it('gives the host AzureWebJobsStorage by account name and the user-assigned identity', () => {
    const settings = appSettings();
    const storage = only('Microsoft.Storage/storageAccounts');
    expect(settings.AzureWebJobsStorage__accountName).toBe(storage.name);
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
    expect(referencedId(settings.AzureWebJobsStorage__clientId)).toBe(identity().id);
    for (const service of ['blob', 'queue', 'table']) {
      const value = settings[`AzureWebJobsStorage__${service}ServiceUri`];
      expect(referencedId(value)).toBe(storage.id);
      expect(String(value)).toContain(`primaryEndpoints.${service}`);
    }
  });

  it('reads the Flex Consumption package from a private container as the identity', () => {
    const site = only('Microsoft.Web/sites');
    const config = site.properties!.functionAppConfig as {
      deployment: {
        storage: {
          type: string;
          value: string;
          authentication: { type: string; userAssignedIdentityResourceId: string };
        };
      };
    };
    const storage = config.deployment.storage;
    expect(storage.type).toBe('blobContainer');
    expect(storage.authentication).toEqual({
      type: 'UserAssignedIdentity',
      userAssignedIdentityResourceId: identity().id,
    });
    const container = only('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(storage.value).toContain(container.name.split('/').pop());
    expect(container.properties!.publicAccess).toBe('None');
  });
});

describe('compiled template: what azd needs', () => {
  it('tags the Function App with azd-service-name of the azure.yaml service', () => {
    const azureYaml = fs.readFileSync(path.join(ROOT, 'azure.yaml'), 'utf8');
    const service = /^services:\n\s+(\w+):\n(?:\s+.*\n)*?\s+host: function$/m.exec(azureYaml)?.[1];
    expect(service).toBe('api');
    const site = only('Microsoft.Web/sites');
    expect(site.tags?.['azd-service-name']).toBe(service);
    expect(site.tags?.['azd-env-name']).toBe('ci');
  });

  it('runs on Flex Consumption with the Node.js major the package declares', () => {
    const plan = only('Microsoft.Web/serverfarms');
    expect(plan.sku).toMatchObject({ name: 'FC1', tier: 'FlexConsumption' });
    const site = only('Microsoft.Web/sites');
    expect(site.kind).toBe('functionapp,linux');
    expect(site.properties!.serverFarmId).toBe(plan.id);
    expect(site.properties!.httpsOnly).toBe(true);
    const config = site.properties!.functionAppConfig as {
      runtime: { name: string; version: string };
      scaleAndConcurrency: { maximumInstanceCount: number; instanceMemoryMB: number };
    };
    const engines = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        engines: { node: string };
      }
    ).engines.node;
    expect(config.runtime).toEqual({ name: 'node', version: /(\d+)/.exec(engines)![1] });
    expect(config.scaleAndConcurrency).toEqual({
      maximumInstanceCount: 100,
      instanceMemoryMB: 2048,
    });
    expect(site.identity?.type).toBe('UserAssigned');
    expect(Object.keys(site.identity?.userAssignedIdentities ?? {})).toEqual([identity().id]);
  });

  it('outputs what the official Flex Consumption azd templates output', () => {
    const site = only('Microsoft.Web/sites');
    const outputs = snapshot.outputs;
    for (const name of ['AZURE_FUNCTION_APP_NAME', 'AZURE_FUNCTION_NAME', 'SERVICE_API_NAME']) {
      expect({ name, value: outputs[name] }).toEqual({ name, value: site.name });
    }
    expect(outputs.AZURE_LOCATION).toBe(SNAPSHOT_SCOPE.location);
    expect(outputs.AZURE_TENANT_ID).toBe(SNAPSHOT_SCOPE.tenantId);
    expect(outputs.AZURE_RESOURCE_GROUP).toBe(only('Microsoft.Resources/resourceGroups').name);
    expect(referencedId(outputs.SERVICE_API_URI)).toBe(site.id);
    expect(referencedId(outputs.APPLICATIONINSIGHTS_CONNECTION_STRING)).toBe(
      only('Microsoft.Insights/components').id,
    );
    expect(outputs.VERIFY_API_ACCOUNT_SID).toMatch(/^AC[0-9a-f]{32}$/);
  });
});
