import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { getDeliverySettings, getKeyPressKeys } from '../composition';
import { readText } from '../http/parse';
import { withErrors } from '../http/respond';
import { answerKeyPress, KEY_PRESS_ROUTE } from './key-press';

/**
 * The delivery feature's one HTTP function: Twilio's callback when the callee of a key-press call pressed a
 * key (src/delivery/key-press.ts). Anonymous at the host (Twilio cannot send a function key); Twilio's
 * request signature is the authentication.
 */
export async function callKeyPressHandler(request: HttpRequest): Promise<HttpResponseInit> {
  const settings = getDeliverySettings();
  const form = Object.fromEntries(new URLSearchParams(await readText(request)));
  const twiml = answerKeyPress(
    {
      url: request.url,
      signature: request.headers.get('x-twilio-signature') ?? undefined,
      form,
    },
    {
      ...getKeyPressKeys(),
      enabled: settings.call?.keyPress === true && settings.twilio !== undefined,
      authToken: settings.twilio?.authToken ?? '',
      now: new Date(),
    },
  );
  return { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: twiml };
}

app.http('callKeyPress', {
  route: KEY_PRESS_ROUTE,
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: withErrors(callKeyPressHandler),
});
