/**
 * The request body of an app that streams (`app.setup({ enableHttpStream: true })`): passed on as it arrives
 * instead of being buffered, so each handler reads at most its own limit and the rest is never held. The
 * host's own limit (`maxRequestBodyBytes`) still holds: a declared length above it is refused before anything
 * is read (undefined), and a chunked body that grows past it is cut off.
 */
import type * as http from 'node:http';
import { Transform } from 'node:stream';

export function limitedBodyStream(req: http.IncomingMessage, limit: number): Transform | undefined {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  let size = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit) done(new Error(`The request body exceeds the limit of ${limit} bytes.`));
      else done(null, chunk);
    },
  });
  req.once('error', (e) => limited.destroy(e));
  return req.pipe(limited);
}
