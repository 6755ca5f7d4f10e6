// HTTP at the socket level, for what fetch() cannot send: malformed requests, pipelining, a
// half-closed connection, a body that stops short. Only 127.0.0.1, and every wait is bounded.
import { connect, Socket } from 'node:net';

export interface RawResponse {
  /** Everything the server sent. */
  text: string;
  /** The status of the first response, or undefined when none came. */
  status?: number;
  headers: Record<string, string>;
  /** The first response's body parsed as JSON, when it is JSON. */
  json?: any;
  /** How the exchange ended: the server closed the connection, or our wait ran out. */
  ended: 'complete' | 'closed' | 'waited';
}

function parse(text: string, ended: RawResponse['ended']): RawResponse {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? NaN);
  const body = rest.join('\r\n\r\n');
  let json: unknown;
  try {
    json = JSON.parse(Number.isNaN(length) ? body : Buffer.from(body).subarray(0, length).toString());
  } catch {
    json = undefined;
  }
  return { text, status: status ? Number(status) : undefined, headers, json, ended };
}

/** Opens a connection to 127.0.0.1:port. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Whether `bytes` hold a whole response with a Content-Length. */
function complete(bytes: Buffer): boolean {
  const end = bytes.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(0, Math.max(end, 0)).toString())?.[1];
  return end >= 0 && length !== undefined && bytes.length >= end + 4 + Number(length);
}

/**
 * Sends `data` (then shuts the sending side when `halfClose`), and collects what comes back until
 * the first response is complete (or, with `untilClosed`, the server closes the connection), or
 * `waitMs` passes.
 */
export async function rawExchange(
  port: number,
  data: string | Buffer,
  { halfClose = false, untilClosed = false, waitMs = 5000 } = {},
): Promise<RawResponse> {
  const socket = await rawConnect(port);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (ended: RawResponse['ended']) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString(), ended));
    };
    const timer = setTimeout(() => finish('waited'), waitMs);
    socket.on('data', (d) => {
      chunks.push(d);
      if (!untilClosed && complete(Buffer.concat(chunks))) finish('complete');
    });
    socket.on('error', () => {});
    socket.on('close', () => finish('closed'));
    socket.write(data);
    if (halfClose) socket.end();
  });
}

/** A complete request, Content-Length set from the body. */
export function rawRequest(method: string, path: string, body = '', headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  const length = body || method === 'POST' ? `content-length: ${Buffer.byteLength(body)}\r\n` : '';
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}${length}\r\n${body}`;
}
