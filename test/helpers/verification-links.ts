/** The official sample's client side of a verification's 202 links, shared by the suites that drive them. */

/** Sends `code` as the `SmsChallengeResponse` event through the answer's `sendEventPostUri`, as the sample's client does. */
export function answerCode(links: { sendEventPostUri: string }, code: unknown): Promise<Response> {
  return fetch(links.sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(code),
  });
}
