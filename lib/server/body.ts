// Reading request bodies: JSON whatever the Content-Type says (`curl -d '{...}'` sends a form type,
// `fetch()` with a string body text/plain, and the rerank examples of llama-server and others rely
// on it), a Content-Encoding the server can decode (gzip, deflate, br) decoded first, and every
// refusal saying what was actually wrong.
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { answeredWhileReceiving } from './client-errors.js';
import { HttpError } from './errors.js';

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';

const mediaType = (request: FastifyRequest) => (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** A request's decoders, stopped when its body is refused: what is left of it is dropped, not decoded. */
const decoding = new WeakMap<IncomingMessage, NodeJS.ReadWriteStream[]>();

/** The body as the stream fastify reads: decoded when it has a Content-Encoding. */
function decoded(request: FastifyRequest, payload: Readable): Readable {
  const codings = (request.headers['content-encoding'] ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return payload;
  // Applied in the order listed, so undone in reverse.
  const decoders = codings.reverse().map((coding) => {
    const make = DECODERS[coding];
    if (!make) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${coding}" is not supported (gzip, deflate, br and identity are)`);
    const decoder = make();
    decoder.once('error', (err: Error & { statusCode?: number }) => {
      err.message = `the body is not valid ${coding} (${err.message})`;
      err.statusCode = 400;
    });
    return decoder;
  });
  // The request itself stays out of the pipeline: pipeline() would destroy it, and so the socket,
  // on a decoding error, before the 400 could reach the client. Its rest is dropped by the error
  // answer (keepConnectionAfterRefusedBody).
  payload.once('error', () => {}); // a client that leaves: the decoders' end, not the request's error
  payload.pipe(decoders[0] as unknown as NodeJS.WritableStream);
  decoding.set(request.raw, decoders);
  const out = (decoders.length === 1 ? decoders[0] : pipeline(decoders as unknown as [NodeJS.ReadWriteStream, NodeJS.ReadWriteStream], () => {})) as unknown as Readable & {
    receivedEncodedLength: number;
  };
  // fastify checks Content-Length against the bytes received, and the body limit against both.
  out.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => (out.receivedEncodedLength += chunk.length));
  return out;
}

const emptyBody = () => new HttpError(400, 'BAD_REQUEST', 'the request body is empty: send a JSON object');

function parseJson(request: FastifyRequest, text: string): unknown {
  if (text.trim() === '') throw emptyBody();
  try {
    return JSON.parse(text);
  } catch (err) {
    const type = mediaType(request);
    const read = type && type !== 'application/json' ? ` (sent as ${type}, which is read as JSON too)` : '';
    throw new HttpError(400, 'BAD_REQUEST', `the body is not valid JSON${read}: ${(err as Error).message}`);
  }
}

/** The rest of a refused body read and dropped, at most this much, to keep the connection. */
const DISCARD_LIMIT = 64 * 1024 * 1024;

/**
 * After a body refused while it is still arriving (413, or 400 for what its encoding says): fastify
 * closes the connection, which resets it while the client is still sending, and a client such as
 * fetch() then fails on its send without reading the answer. So, when the rest has a length and
 * is not too large, it is read and dropped instead, and the connection kept, as HTTP/1.1 allows.
 */
export function keepConnectionAfterRefusedBody(request: FastifyRequest, reply: FastifyReply): void {
  if (reply.getHeader('connection') !== 'close') return; // fastify's mark of a body it stopped reading
  // Kept or not, nothing more of it is decoded: a small compressed body can decode to gigabytes.
  const decoders = decoding.get(request.raw);
  if (decoders) {
    request.raw.unpipe();
    for (const d of decoders) (d as unknown as { destroy(): void }).destroy();
  }
  if (request.raw.complete) return;
  const length = Number(request.headers['content-length']);
  if (!Number.isSafeInteger(length) || length > DISCARD_LIMIT) return;
  reply.removeHeader('connection');
  answeredWhileReceiving(request.raw);
  request.raw.resume();
}

/**
 * Sets up body reading on `app`. JSON.parse keeps a `__proto__` key as a plain own field, which the
 * schema then refuses as unknown, naming it; no prototype is ever set from a body.
 */
export function readBodiesAsJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, async (request: FastifyRequest, text: string | Buffer) =>
    parseJson(request, text.toString()),
  );
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (!hasBody(request)) return payload;
    if (mediaType(request).startsWith('multipart/')) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `${mediaType(request)} bodies are not read: send the request as JSON`);
    }
    return decoded(request, payload);
  });
  // A route that takes a body gets the same answer for an empty one whether a Content-Type came or not.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) {
      throw emptyBody();
    }
  });
}
