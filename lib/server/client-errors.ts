// What the server answers when a request never becomes a request: malformed HTTP, headers over
// the size limit, a client too slow to send its headers or body. Node handles these below fastify
// (its 'clientError' event) and would answer in its own shape; this answers in the API's.
import { type IncomingMessage, STATUS_CODES } from 'node:http';
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

type Response = {
  headersSent?: boolean;
  writableFinished?: boolean;
  req?: { complete?: boolean };
  once(event: 'finish' | 'close', fn: () => void): unknown;
};

/**
 * Calls `fn` once no response on the socket is still being written for a request received whole:
 * one pipelined before the malformed request gets its own answer first, as HTTP/1.1 orders them.
 * A response whose own request is the broken one (a body that stops short or has a bad chunk) is
 * not waited for: it cannot finish, and the error is its answer.
 */
function afterResponses(socket: Socket, fn: (current: Response | undefined) => void): void {
  if (socket.destroyed) return;
  const current = (socket as Socket & { _httpMessage?: Response | null })._httpMessage ?? undefined;
  if (!current || current.writableFinished || !current.req?.complete) {
    fn(current);
    return;
  }
  let waited = false;
  const next = () => {
    if (waited) return;
    waited = true;
    setImmediate(() => afterResponses(socket, fn)); // the next queued response is attached by then
  };
  current.once('finish', next);
  current.once('close', next);
}

/** Sockets whose request was answered while its body was still arriving (and is being dropped). */
const answeredEarly = new WeakSet<Socket>();

/**
 * `req` has its answer already (a refused body) while its body still arrives: should that stop
 * short, the timeout ends the connection without a second answer to the same request.
 */
export function answeredWhileReceiving(req: IncomingMessage): void {
  const socket = req.socket;
  answeredEarly.add(socket);
  const done = () => answeredEarly.delete(socket);
  req.once('end', done);
  req.once('close', done);
}

/** Sockets a client error was answered on: llhttp stays in error, and reports each later packet again. */
const handled = new WeakSet<Socket>();

/** fastify's `clientErrorHandler`: one JSON error after the answers already owed, then the connection closes. */
export function clientErrorHandler(err: ClientError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || handled.has(socket)) return;
  handled.add(socket);
  if (answeredEarly.has(socket)) {
    socket.destroy();
    return;
  }
  const [status, code, message] = describe(err);
  const body = JSON.stringify(errorBody(status, code, message));
  afterResponses(socket, (current) => {
    // A response already under way cannot be followed by another one.
    if (!socket.writable || (current?.headersSent && !current.writableFinished)) {
      socket.destroy();
      return;
    }
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
}
