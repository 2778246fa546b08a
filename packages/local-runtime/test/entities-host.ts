/**
 * The entities fixture app on an in-process host (manual clock, in-memory database), with the management
 * API's base URL and key, shared by the entity and rewind tests.
 */
import type { LocalHost } from '../src/index';
import { startFixtureHost } from './fixture-host';

export interface EntitiesHost {
  readonly host: LocalHost;
  /** `<origin>/runtime/webhooks/durabletask` */
  readonly hook: string;
  /** `code=<system key>`, for a query string. */
  readonly key: string;
  status(instanceId: string): Promise<{ runtimeStatus: string; output: unknown }>;
  stop(): Promise<void>;
}

export async function startEntitiesHost(): Promise<EntitiesHost> {
  const { host, stop } = await startFixtureHost('entities-app');
  const hook = `${host.url}/runtime/webhooks/durabletask`;
  const key = `code=${encodeURIComponent(host.keys.systemKey)}`;
  return {
    host,
    hook,
    key,
    async status(instanceId) {
      const response = await fetch(`${hook}/instances/${instanceId}?${key}`);
      return (await response.json()) as { runtimeStatus: string; output: unknown };
    },
    stop,
  };
}

/** {@link startEntitiesHost} for the calling suite: started in `beforeAll`, stopped in `afterAll`. */
export function useEntitiesHost(): EntitiesHost {
  let started: EntitiesHost | undefined;
  beforeAll(async () => {
    started = await startEntitiesHost();
  });
  afterAll(() => started?.stop());
  const app = (): EntitiesHost => {
    if (started === undefined) throw new Error('the entities host is read before it started');
    return started;
  };
  return {
    get host() {
      return app().host;
    },
    get hook() {
      return app().hook;
    },
    get key() {
      return app().key;
    },
    status: (instanceId) => app().status(instanceId),
    stop: () => app().stop(),
  };
}
