import { app } from '@azure/functions';
import { getConfig } from './composition';
import { ConfigError } from './domain/errors';
// Orchestrations and activities live outside functions/, which is all the `main` glob loads.
import './durable-registrations';

app.setup({ enableHttpStream: false });

app.hook.appStart(() => {
  try {
    getConfig();
  } catch (error: unknown) {
    // Keys and reasons only, never values; endpoints that need the settings answer 500 until fixed.
    const detail = error instanceof ConfigError ? error.message : 'settings could not be read';
    console.error(`Function app started with invalid settings: ${detail}`);
  }
});
