import { app } from '@azure/functions';

import { getMeServices } from '../composition';
import { createMeHandlers } from './handlers';
import { ME_FUNCTIONS } from './names';

/**
 * The bearer token is the authentication of these routes, so they are `anonymous` at the Functions level:
 * a function key would be a shared secret in every client and prove nothing about the user.
 */
const handlers = createMeHandlers(getMeServices);

for (const name of Object.keys(ME_FUNCTIONS) as (keyof typeof ME_FUNCTIONS)[]) {
  const { route, method } = ME_FUNCTIONS[name];
  app.http(name, { route, methods: [method], authLevel: 'anonymous', handler: handlers[name] });
}
