/**
 * Drives the app through the client Kiota generates from the served `/api/openapi.json`
 * (test/integration/kiota-client.test.ts generates it next to this file as `./client/`, compiles
 * both with strict TypeScript and runs the result). It is compiled only there, against that
 * client, so it is outside the project's tsconfig and lint: a route, a body or an answer the
 * document describes wrongly breaks its compilation or its run.
 *
 * Environment: API_BASE_URL (the host), TWILIO_EMULATOR_URL (its outbox), FUNCTION_KEY, PHONE.
 * Prints one JSON line: what it saw, for the test to check.
 */
import {
  AnonymousAuthenticationProvider,
  ApiKeyAuthenticationProvider,
  ApiKeyLocation,
  isUntypedNode,
  type AuthenticationProvider,
} from '@microsoft/kiota-abstractions';
import { DefaultRequestAdapter } from '@microsoft/kiota-bundle';

import { createVerificationClient, type VerificationClient } from './client/verificationClient.js';

const baseUrl = required('API_BASE_URL');
const twilioUrl = required('TWILIO_EMULATOR_URL');
const functionKey = required('FUNCTION_KEY');
const phone = required('PHONE');

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

function client(auth: AuthenticationProvider): VerificationClient {
  const adapter = new DefaultRequestAdapter(auth);
  adapter.baseUrl = baseUrl;
  return createVerificationClient(adapter);
}

/** The verification routes are anonymous; the ACS routes take the function key in its header. */
const anonymous = client(new AnonymousAuthenticationProvider());
const withKey = client(
  new ApiKeyAuthenticationProvider(
    functionKey,
    'x-functions-key',
    ApiKeyLocation.Header,
    new Set([new URL(baseUrl).hostname]),
  ),
);

interface OutboxMessage {
  readonly to: string;
  readonly body: string;
}

/** The SMS the emulator's outbox holds for the number, waited for by the emulator (long poll). */
async function smsTo(to: string): Promise<OutboxMessage> {
  const url = `${twilioUrl}/_emulator/messages?to=${encodeURIComponent(to)}&waitMs=10000`;
  const answer = (await (await fetch(url)).json()) as { messages: OutboxMessage[] };
  const message = answer.messages.at(-1);
  if (message === undefined) throw new Error(`no SMS to ${to} within 10 s`);
  return message;
}

function plain(value: unknown): unknown {
  return isUntypedNode(value) ? value.getValue() : value;
}

async function main(): Promise<void> {
  const links = await anonymous.api.orchestrators
    .byOrchestratorName('SmsPhoneVerification')
    .post({ phoneNumber: phone, locale: 'en' });
  if (!links?.id || !links.sendEventPostUri || !links.statusQueryGetUri) {
    throw new Error(`the start answered no links: ${JSON.stringify(links)}`);
  }

  const sms = await smsTo(phone);
  const code = /(\d{6})/.exec(sms.body)?.[1];
  if (code === undefined) throw new Error('the SMS holds no six-digit code');

  // Through the links of the 202, as a browser or an app follows them: withUrl keeps the generated
  // request (method, body serialization, error mapping) on the link's own URL. The answer goes to
  // the code link, `POST /api/verifications/{id}/code?token=` with `{ code }`, which shares its
  // token with sendEventPostUri: Kiota's TypeScript serializer for sendEventPostUri's bare
  // string-or-number body is broken (see the test), an object body is not.
  const verification = anonymous.api.verifications.byId(links.id);
  const codeLink = links.sendEventPostUri.replace('/events/{eventName}?', '/code?');
  const submitted = await verification.code.withUrl(codeLink).post({ code });
  if (submitted?.id !== links.id)
    throw new Error(`the code link answered ${JSON.stringify(submitted)}`);

  const status = verification.status.withUrl(links.statusQueryGetUri);
  let polls = 0;
  let last = await status.get();
  while (plain(last?.output) !== true && polls < 200) {
    polls++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await status.get();
  }

  const identity = await withKey.api.acs.identities.post({});
  if (!identity?.communicationUserId) throw new Error('no ACS identity');
  const token = await withKey.api.acs.identities
    .byCommunicationUserId(identity.communicationUserId)
    .token.post({ scopes: ['chat', 'voip'], expiresInMinutes: 60 });

  console.log(
    JSON.stringify({
      verificationId: links.id,
      smsTo: sms.to,
      polls,
      runtimeStatus: last?.runtimeStatus,
      output: plain(last?.output),
      communicationUserId: identity.communicationUserId,
      token: token?.token,
      expiresOn: token?.expiresOn?.toISOString(),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
