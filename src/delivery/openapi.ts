import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ANONYMOUS, registerOperation, type ApiTag } from '../http/openapi';
import { KEY_PRESS_ROUTE } from './key-press';

/** The delivery feature's one route in the OpenAPI document: Twilio's key-press callback. */

const TAG: ApiTag = {
  name: 'Delivery callbacks',
  description: "Called by Twilio, authenticated by Twilio's request signature.",
};

/** What Twilio posts to a `<Gather>` action (the parameters the app reads; Twilio sends more). */
const KeyPressForm = z
  .looseObject({
    CallSid: z.string().optional(),
    To: z.string().meta({ description: 'The called number: the sealed code must be bound to it.' }),
    Digits: z.string().meta({ description: 'The key pressed.' }),
  })
  .meta({ id: 'CallKeyPressForm' });

export function registerDeliveryOpenApi(registry: OpenAPIRegistry): ApiTag {
  registerOperation(registry, {
    operationId: 'callKeyPress',
    method: 'post',
    route: KEY_PRESS_ROUTE,
    tag: TAG.name,
    security: ANONYMOUS,
    summary: 'The code of a call, once the callee pressed a key (DELIVERY_CALL_KEY_PRESS)',
    description:
      'The `action` of the `<Gather>` a key-press call starts with; its query (`t`: the code sealed to the ' +
      "called number, `l`: the locale) comes from the app. Only requests signed by Twilio with the account's " +
      'auth token (`X-Twilio-Signature`) are answered; a stale link or no digit answers a hang-up.',
    requestBody: {
      schema: KeyPressForm,
      contentType: 'application/x-www-form-urlencoded',
      examples: {
        pressed: {
          summary: 'The callee pressed 1',
          value: { CallSid: `CA${'0'.repeat(32)}`, To: '+14255550100', Digits: '1' },
        },
      },
    },
    responses: {
      200: {
        description: 'TwiML: the code spoken twice, or a hang-up.',
        contentType: 'text/xml',
        schema: z.string(),
      },
    },
    errors: [403, 404, 413, 500],
    errorDescriptions: {
      403: 'The request is not signed by Twilio for this URL (X-Twilio-Signature).',
      404: 'The key press is off on this deployment.',
    },
  });
  return TAG;
}
