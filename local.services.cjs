// @ts-check
/**
 * This app's hook into the local runtime (`@local/durable-runtime`, see packages/local-runtime/README.md):
 * which emulators `npm start` runs beside the app when its settings lack real services, which settings they
 * fill in, which secrets the runtime draws on first start, and what the dashboard shows and hides. Local
 * only: it is not part of what Azure runs.
 */
const { dashboardServices, embeddedServices } = require('@local/emulators');
const sample = require('./local.settings.sample.json');

/** @type {import('@local/durable-runtime').LocalServices} */
module.exports = {
  // A setting that still holds its value from local.settings.sample.json is a dev value: the emulators fill it.
  embedded: embeddedServices({ sampleSettings: sample.Values }),
  // Drawn once per data folder when blank, kept in <data folder>/generated-secrets.json and printed at start:
  // the Verify API's own credentials and the webhook signing secret, which nobody should invent by hand.
  generatedSecrets: {
    VERIFY_API_ACCOUNT_SID: { prefix: 'AC', hexDigits: 32 },
    VERIFY_API_AUTH_TOKEN: { prefix: '', hexDigits: 32 },
    VERIFICATION_WEBHOOK_SECRET: { prefix: 'whsec_', hexDigits: 64 },
  },
  dashboard: {
    services: dashboardServices,
    redaction: {
      // Verification codes and answers, ACS and Entra tokens, keys and secrets, wherever they appear.
      secretNames: /^(code|sealedcode|password|secret|.*token|.*key|authorization)$/i,
      // E.164 phone numbers: shown as +•••••••0100.
      maskedValues: [/^\+[1-9]\d{7,14}$/],
      // JWTs (ACS, Entra and sidecar tokens).
      hiddenValues: [/^eyJ[\w-]*\.[\w-]+\.[\w-]*$/],
      // Codes are 4-10 digits: a raw code raised as an event, or inside an SMS body.
      minDigitRun: 4,
    },
  },
};
