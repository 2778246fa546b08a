/**
 * `callHttp`'s `tokenSource`, as the Durable extension honours it: a `ManagedIdentityTokenSource` means
 * "get a token for `resource` with DefaultAzureCredential and send it as `Authorization: Bearer`". Locally the
 * credential finds the embedded managed-identity endpoint through `IDENTITY_ENDPOINT` / `IDENTITY_HEADER`.
 * Without a token the request does not go out: it fails, never unauthenticated.
 */
import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';

/** `durable-functions`' `ManagedIdentityTokenSource.kind`. */
const MANAGED_IDENTITY_KIND = 'AzureManagedIdentity';
/** The extension turns these bare resources into scopes; others are used as given. */
const RESOURCE_SCOPES: Readonly<Record<string, string>> = {
  'https://management.core.windows.net': 'https://management.core.windows.net/.default',
  'https://management.core.windows.net/': 'https://management.core.windows.net/.default',
  'https://graph.microsoft.com': 'https://graph.microsoft.com/.default',
  'https://graph.microsoft.com/': 'https://graph.microsoft.com/.default',
};

export class TokenSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenSourceError';
  }
}

let cached: { key: string; credential: TokenCredential } | undefined;

/** One credential per identity configuration (the settings land in process.env when a host starts). */
function credential(): TokenCredential {
  const key = [
    process.env.IDENTITY_ENDPOINT,
    process.env.IDENTITY_HEADER,
    process.env.AZURE_CLIENT_ID,
    process.env.AZURE_TENANT_ID,
  ].join('\n');
  if (cached?.key !== key) cached = { key, credential: new DefaultAzureCredential() };
  return cached.credential;
}

/** The headers a request's `tokenSource` adds (none without one); throws TokenSourceError when it cannot. */
export async function tokenSourceHeaders(tokenSource: unknown): Promise<Record<string, string>> {
  if (tokenSource === undefined || tokenSource === null) return {};
  const { kind, resource } = tokenSource as { kind?: unknown; resource?: unknown };
  if (kind !== MANAGED_IDENTITY_KIND) {
    throw new TokenSourceError(`callHttp: unsupported token source kind '${String(kind)}'.`);
  }
  if (typeof resource !== 'string' || resource.trim() === '') {
    throw new TokenSourceError('callHttp: the managed identity token source has no resource.');
  }
  const scope = RESOURCE_SCOPES[resource] ?? resource;
  let token: string | undefined;
  try {
    token = (await credential().getToken(scope))?.token;
  } catch (e) {
    // The credential's message can quote endpoints and responses; the name says enough to act on.
    throw new TokenSourceError(
      `callHttp: no token for '${scope}' from the managed identity (DefaultAzureCredential: ${e instanceof Error ? e.name : 'error'}); the request was not sent.`,
    );
  }
  if (!token) {
    throw new TokenSourceError(
      `callHttp: no token for '${scope}' from the managed identity; the request was not sent.`,
    );
  }
  return { Authorization: `Bearer ${token}` };
}
