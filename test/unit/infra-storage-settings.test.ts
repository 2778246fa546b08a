/**
 * In Azure, infra/ gives the app identity-based storage settings (AzureWebJobsStorage__accountName,
 * __tableServiceUri, __clientId) and no connection string; the identity map must load from them.
 */
import { loadIdentityMapConfig } from '../../src/me/settings';
import { ConfigError } from '../../src/errors';

const CLIENT_ID = '11111111-2222-4333-8444-555555555555';

function problems(env: Record<string, string>): string[] {
  try {
    loadIdentityMapConfig(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.field}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('identity-based AzureWebJobsStorage for the identity map', () => {
  it('uses the table endpoint and the user-assigned identity that infra/ sets', () => {
    const config = loadIdentityMapConfig({
      AzureWebJobsStorage__accountName: 'stabc123',
      AzureWebJobsStorage__tableServiceUri: 'https://stabc123.table.core.windows.net/',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: CLIENT_ID,
    });
    expect(config.storage).toEqual({
      kind: 'managedIdentity',
      tableEndpoint: new URL('https://stabc123.table.core.windows.net/'),
      clientId: CLIENT_ID,
    });
  });

  it('derives the public-cloud table endpoint from the account name alone (system-assigned identity)', () => {
    const config = loadIdentityMapConfig({ AzureWebJobsStorage__accountName: 'stabc123' });
    expect(config.storage).toEqual({
      kind: 'managedIdentity',
      tableEndpoint: new URL('https://stabc123.table.core.windows.net/'),
      clientId: undefined,
    });
  });

  it('prefers a connection string when both are set (local development)', () => {
    const config = loadIdentityMapConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AzureWebJobsStorage__accountName: 'stabc123',
    });
    expect(config.storage).toEqual({
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
    });
  });

  it('names the missing or invalid keys, never their values', () => {
    expect(problems({})).toEqual([
      'AzureWebJobsStorage: required (or set AzureWebJobsStorage__accountName)',
    ]);
    expect(problems({ AzureWebJobsStorage__accountName: 'Not_Valid' })).toEqual([
      'AzureWebJobsStorage__accountName: must be 3-24 lowercase letters or digits',
    ]);
    expect(
      problems({
        AzureWebJobsStorage__tableServiceUri: 'http://stabc123.table.core.windows.net/',
        AzureWebJobsStorage__clientId: 'nope',
      }),
    ).toEqual([
      'AzureWebJobsStorage__clientId: must be a GUID',
      'AzureWebJobsStorage__tableServiceUri: must be an https URL',
    ]);
  });
});
