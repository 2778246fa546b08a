// First, so that the Azure Functions instrumentation sees @azure/functions load; off unless configured.
import './telemetry/register';
import { app } from '@azure/functions';
import { describeStartupConfigProblem } from './composition';
// Orchestrations and activities live outside functions/, which is all the `main` glob loads.
import './durable-registrations';

app.setup({ enableHttpStream: false });

app.hook.appStart(() => {
  const problem = describeStartupConfigProblem();
  if (problem !== undefined) {
    // The host keeps running; endpoints that need the settings answer a generic 500 until fixed.
    console.error(`Function app started with invalid settings: ${problem}`);
  }
});
