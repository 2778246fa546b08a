import type { AcsIdentityService } from '../clients/acs-identity';
import { CallerAcsIdentities } from '../clients/identity-map-service';
import type { IdentityMapStore } from '../clients/identity-map';
import { TableIdentityMapStore } from '../clients/identity-map-table';
import { getSharedSidecarClient } from '../clients/sidecar';
import type { SidecarApi } from '../clients/sidecar';
import {
  getAcsConfig,
  getAcsIdentityService,
  getIdentityMapConfig,
  getSidecarConfig,
  onResetComposition,
} from '../composition';
import { loadSections, type Config } from '../config';

/** Everything the `/api/me...` handlers depend on. */
export interface MeServices {
  readonly sidecar: SidecarApi;
  readonly identities: CallerAcsIdentities;
  readonly acs: Pick<AcsIdentityService, 'exchangeTeamsToken'>;
  /** Sidecar downstream API name of Microsoft Graph (`SIDECAR_GRAPH_API_NAME`). */
  readonly graphApiName: string;
  /** Entra app id used for the Teams exchange (`ACS_TEAMS_CLIENT_ID`); unset disables the endpoint. */
  readonly teamsClientId: string | undefined;
}

export interface MeServiceParts {
  /** Only the settings these services read, so a full {@link Config} also fits. */
  readonly config: Pick<Config, 'sidecar' | 'acsTeamsClientId'>;
  readonly sidecar: SidecarApi;
  readonly store: IdentityMapStore;
  readonly acs: AcsIdentityService;
  readonly onOrphan?: (communicationUserId: string, error: unknown) => void;
}

export function createMeServices(parts: MeServiceParts): MeServices {
  return {
    sidecar: parts.sidecar,
    identities: new CallerAcsIdentities(parts.store, parts.acs, {
      ...(parts.onOrphan === undefined ? {} : { onOrphan: parts.onOrphan }),
    }),
    acs: parts.acs,
    graphApiName: parts.config.sidecar.graphApiName,
    teamsClientId: parts.config.acsTeamsClientId,
  };
}

let services: MeServices | undefined;

/**
 * The process-wide services, built on first use from the sidecar, identity-map and ACS settings
 * only (see `composition.ts`); a ConfigError names the bad keys of all three.
 */
export function getMeServices(): MeServices {
  if (services === undefined) {
    const [sidecar, identityMap, acs] = loadSections(
      getSidecarConfig,
      getIdentityMapConfig,
      getAcsConfig,
    );
    services = createMeServices({
      config: { sidecar, acsTeamsClientId: acs.teamsClientId },
      sidecar: getSharedSidecarClient({
        url: sidecar.url.href,
        allowNonLoopback: sidecar.allowNonLoopback,
        timeoutMs: sidecar.timeoutMs,
      }),
      store: TableIdentityMapStore.create(identityMap.storage, identityMap.tableName),
      acs: getAcsIdentityService(),
      onOrphan: (communicationUserId) => {
        // The id is not a secret; it lets an operator delete the identity by hand.
        console.warn(`Could not delete surplus ACS identity ${communicationUserId}`);
      },
    });
  }
  return services;
}

/** Forgets the memoised services (tests that change settings). */
export function resetMeServices(): void {
  services = undefined;
}

onResetComposition(resetMeServices);
