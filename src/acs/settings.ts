import { GUID_PATTERN, loadSection, type Env, type Reader } from '../config';
import { isLoopbackHost } from '../loopback';

/** The ACS feature's settings. */
export const ACS_KEYS = {
  connectionString: 'COMMUNICATION_SERVICES_CONNECTION_STRING',
  endpoint: 'COMMUNICATION_SERVICES_ENDPOINT',
  teamsClientId: 'ACS_TEAMS_CLIENT_ID',
} as const;

/** How the app reaches ACS Identity. */
export type AcsAccess =
  | {
      readonly kind: 'connectionString';
      readonly connectionString: string;
      /** Parsed from the connection string; the access key is not kept outside `connectionString`. */
      readonly endpoint: URL;
    }
  | { readonly kind: 'managedIdentity'; readonly endpoint: URL };

/** How the app reaches ACS Identity, and the Entra app used for Teams token exchanges. */
export interface AcsConfig {
  readonly access: AcsAccess;
  /** Unset disables the default client id of the Teams exchange. */
  readonly teamsClientId: string | undefined;
}

/** Same parse as @azure/communication-common: endpoint first, then accesskey. */
const ACS_CONNECTION_STRING_PATTERN = /^endpoint=(.+);accesskey=(.+)$/i;

/** `COMMUNICATION_SERVICES_CONNECTION_STRING` or `COMMUNICATION_SERVICES_ENDPOINT`, and `ACS_TEAMS_CLIENT_ID`. */
export function loadAcsConfig(env: Env): AcsConfig {
  return loadSection(env, (reader) => {
    const access = readAccess(reader);
    const teamsClientId = reader.optional(ACS_KEYS.teamsClientId);
    if (teamsClientId !== undefined && !GUID_PATTERN.test(teamsClientId)) {
      reader.report(ACS_KEYS.teamsClientId, 'must be a GUID');
    }
    return access === undefined ? undefined : { access, teamsClientId };
  });
}

function readAccess(reader: Reader): AcsAccess | undefined {
  const connectionString = reader.optional(ACS_KEYS.connectionString);
  if (connectionString !== undefined) {
    const match = ACS_CONNECTION_STRING_PATTERN.exec(connectionString);
    const endpoint = match?.[1] === undefined ? undefined : parseEndpoint(match[1]);
    if (endpoint === undefined || !match?.[2]) {
      reader.report(
        ACS_KEYS.connectionString,
        'must look like endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>',
      );
      return undefined;
    }
    if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.hostname)) {
      reader.report(
        ACS_KEYS.connectionString,
        'endpoint must use https (http only for loopback hosts)',
      );
      return undefined;
    }
    return { kind: 'connectionString', connectionString, endpoint };
  }
  const rawEndpoint = reader.optional(ACS_KEYS.endpoint);
  if (rawEndpoint === undefined) {
    reader.report(
      ACS_KEYS.connectionString,
      `required (or set ${ACS_KEYS.endpoint} to use managed identity)`,
    );
    return undefined;
  }
  const endpoint = parseEndpoint(rawEndpoint);
  // Bearer tokens are refused by the SDK over plain http, so managed identity needs https.
  if (endpoint === undefined || endpoint.protocol !== 'https:') {
    reader.report(ACS_KEYS.endpoint, 'must be an https URL without a path');
    return undefined;
  }
  return { kind: 'managedIdentity', endpoint };
}

/** The ACS SDK rejects endpoints with a path, so this does too. */
function parseEndpoint(raw: string): URL | undefined {
  if (!URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  const httpScheme = url.protocol === 'https:' || url.protocol === 'http:';
  const bare = !url.username && !url.password && !url.search && !url.hash;
  return httpScheme && bare && (url.pathname === '/' || url.pathname === '') ? url : undefined;
}
