// First, so that the Azure Functions instrumentation sees @azure/functions load; off unless configured.
import './telemetry/register';
import { app } from '@azure/functions';
import { describeStartup } from './composition';
// One registration module per feature: its orchestrations, activities and HTTP routes.
import './verification/register';
import './acs/register';
import './me/register';
import './verify/register';
import './delivery/register';
import './openapi/openapi-functions';

// Request bodies stream to the handlers (Azure supports it; so does the local runtime): each reads at most its
// own limit (16 KiB for the anonymous routes), and a 100 MiB body is never buffered whole before that check.
app.setup({ enableHttpStream: true });

app.hook.appStart(() => {
  const { invalid, notDeployed } = describeStartup();
  if (notDeployed.length > 0) {
    console.info(
      `Features without settings (their endpoints answer 500): ${notDeployed.join(', ')}`,
    );
  }
  if (invalid.length > 0) {
    // The host keeps running; endpoints that need the settings answer a generic 500 until fixed.
    console.error(`Function app started with invalid settings: ${invalid.join('; ')}`);
  }
});
