import type { AcsIdentityService } from '../acs/identity-service';
import { CallerAcsIdentities } from './caller-identities';
import type { IdentityMapStore } from './identity-map';
import type { SidecarApi } from './sidecar';
import type { Config } from '../config';

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
  readonly config: Pick<Config, 'sidecar' | 'acs'>;
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
    teamsClientId: parts.config.acs.teamsClientId,
  };
}
