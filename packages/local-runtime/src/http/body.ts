/**
 * The runtime's one bounded body reader (front door, RPC listener, dashboard): it stops at `limit` bytes (and
 * at the declared `content-length` before reading anything), optionally holding the bytes against a budget
 * shared by every request until the response closes, so concurrent large bodies cannot grow the heap.
 */
import type * as http from 'node:http';

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body exceeds the limit of ${limit} bytes.`);
  }
}
/** All the bytes the host may buffer are taken by other requests' bodies. */
export class BodyBudgetExhaustedError extends Error {}
/** The client went away before its body was complete: an ordinary disconnect, not a host error. */
export class ClientDisconnectedError extends Error {}

/** Bytes of request bodies held in memory at once, across requests. */
export class BodyBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

export interface BodyLimits {
  readonly limit: number;
  /** Held until `res` closes (the handler may keep the buffer until then). */
  readonly budget?: { readonly pool: BodyBudget; readonly res: http.ServerResponse };
}

export function readLimitedBody(req: http.IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { limit, budget } = limits;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new PayloadTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    budget?.res.once('close', () => budget.pool.give(size));
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      reject(e);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit) return fail(new PayloadTooLargeError(limit));
      if (budget && !budget.pool.take(chunk.length)) return fail(new BodyBudgetExhaustedError());
      size += chunk.length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', () => fail(new ClientDisconnectedError()));
    req.on('close', () => {
      if (!req.complete) fail(new ClientDisconnectedError());
    });
  });
}
