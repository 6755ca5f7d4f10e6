// What the server answers when a request never becomes a request: malformed HTTP, headers over
// the size limit, a client too slow to send its headers or body. Node handles these below fastify
// (its 'clientError' event) and would answer in its own shape; this answers in the API's.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './errors.js';

interface ClientError extends Error {
  code?: string;
  /** llhttp's description of what was malformed. */
  reason?: string;
}

function describe(err: ClientError): [number, string, string] {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'REQUEST_TIMEOUT', 'the request was not received in time (see the server\'s header and request timeouts)'];
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return [431, 'HEADERS_TOO_LARGE', 'the request headers are over the size limit'];
  const reason = err.reason ?? err.message;
  return [400, 'BAD_REQUEST', `malformed HTTP request: ${reason}`];
}

/** fastify's `clientErrorHandler`: one JSON error, then the connection closes. */
export function clientErrorHandler(err: ClientError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way cannot be followed by another one.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, message] = describe(err);
  const body = JSON.stringify(errorBody(status, code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
