// How long a client may take to send a request. Node's defaults under fastify leave the body
// unbounded (fastify sets requestTimeout to 0), so a client sending `Content-Length: 100` and 10
// bytes held its socket forever. Node answers a timeout through 'clientError' (client-errors.ts: 408).
// Both bound receiving the request only: Node stops timing a request once it is fully received, so
// computing the answer, however long, is not cut short.
import type { ServerOptions } from 'node:http';

/** fastify's options for the two timeouts. */
export function timeoutOptions(headersTimeoutMs: number, requestTimeoutMs: number): { requestTimeout: number; http: ServerOptions } {
  return {
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout: headersTimeoutMs,
      // Node checks the timeouts on this interval (30 s by default): a tenth of the shorter keeps them close to exact.
      connectionsCheckingInterval: Math.max(100, Math.min(headersTimeoutMs, requestTimeoutMs) / 10),
    },
  };
}
