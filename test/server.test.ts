// The HTTP server on the tiny model: the hosted API's request as it is, the error shapes and
// statuses, auth, limits, loading and graceful shutdown. Mostly through fastify's inject(); the
// hosted example and shutdown also over a real socket on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker, RerankError } from '../lib/index.js';
import { DEFAULT_LIMITS, RerankServer, ServerOptions, buildServer } from '../lib/server/app.js';
import { exampleRequest, hostedExample, tinyModel } from './helpers.js';
import { RawResponse, rawConnect, rawExchange, rawRequest } from './raw-http.js';

let reranker: Reranker;
beforeAll(async () => {
  reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
});
afterAll(() => reranker.dispose());

/** A server over the shared model, which stays loaded when the server shuts down. */
function server(options: Partial<ServerOptions> = {}): RerankServer {
  return buildServer({ reranker, modelName: 'tiny', disposeOnShutdown: false, ...options });
}

const post = (s: RerankServer, payload: unknown, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url: '/v1/rerank', payload: payload as object, headers });

/** The hosted API's documented call: its JSON body, its headers (a key the server may not need). */
const HOSTED_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer HOSTED_API_KEY' };

function expectError(res: { statusCode: number; json(): unknown }, status: number, code: string, param?: string | null) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
  if (param !== undefined) expect(body.error.param).toBe(param);
}

describe('POST /v1/rerank', () => {
  let s: RerankServer;
  beforeAll(() => {
    s = server();
  });
  afterAll(() => s.shutdown());

  it("answers the hosted API's documented request, unchanged, exactly as the library does", async () => {
    await s.loaded;
    const res = await post(s, JSON.stringify(hostedExample.request), HOSTED_HEADERS);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(await reranker.rerank(exampleRequest()));
    expect(res.json().usage.prompt_tokens).toBe(hostedExample.response.usage.prompt_tokens);
  });

  it('takes { text } documents, return_documents, instruction, truncate and a null top_n', async () => {
    const req = exampleRequest();
    const body = {
      ...req,
      documents: req.documents.map((d) => ({ text: d as string })),
      return_documents: true,
      instruction: 'Find the capital',
      truncate: true,
      top_n: null,
    };
    const res = await post(s, body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(await reranker.rerank(body));
    expect(res.json().results[0].document.text).toBe(req.documents[res.json().results[0].index]);
  });

  it('reads null as unset in every optional field, as Python clients send None', async () => {
    const req = exampleRequest();
    const nulls = { model: null, top_n: null, return_documents: null, instruction: null, truncate: null, max_chunks_per_doc: null };
    const res = await post(s, { query: req.query, documents: req.documents, ...nulls });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(await reranker.rerank({ query: req.query, documents: req.documents }));
    expectError(await post(s, { ...req, truncate: 'no' }), 422, 'INVALID_REQUEST', 'truncate');
    expect(res.json().error).toBeUndefined();
  });

  it('serves /rerank too, and reads the body as JSON whatever its Content-Type (curl -d)', async () => {
    const body = JSON.stringify({ query: 'q', documents: ['a', 'b'] });
    const form = await s.app.inject({ method: 'POST', url: '/rerank', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(200);
    expect(form.json().results).toHaveLength(2);
  });

  it('accepts any model name: one server serves one model', async () => {
    const res = await post(s, { ...exampleRequest(), model: 'some-other/reranker' });
    expect(res.statusCode).toBe(200);
  });

  it('422 names the field at fault, in the { error: { message, type, code, param } } shape', async () => {
    expectError(await post(s, { ...exampleRequest(), top_n: '5' }), 422, 'INVALID_REQUEST', 'top_n');
    expectError(await post(s, { ...exampleRequest(), top_n: 0 }), 422, 'INVALID_REQUEST', 'top_n');
    expectError(await post(s, { ...exampleRequest(), documents: [] }), 422, 'INVALID_REQUEST', 'documents');
    expectError(await post(s, { ...exampleRequest(), documents: ['a', { text: 1 }] }), 422, 'INVALID_REQUEST', 'documents[1]');
    expectError(await post(s, { documents: ['a'] }), 422, 'INVALID_REQUEST', 'query');
    expectError(await post(s, { ...exampleRequest(), rank_fields: ['text'] }), 422, 'INVALID_REQUEST', 'rank_fields');
    expectError(await post(s, { query: '   ', documents: ['a'] }), 422, 'INVALID_REQUEST', 'query');
    const res = await post(s, { ...exampleRequest(), documents: [] });
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', message: 'documents: must not be empty' });
  });

  it('400 for a body that is not JSON', async () => {
    expectError(await post(s, '{"query": ', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST', null);
  });

  it('404 for an unknown route, in the same shape', async () => {
    expectError(await s.app.inject({ method: 'GET', url: '/v3/rerank' }), 404, 'NOT_FOUND');
  });
});

describe('limits', () => {
  it('413 for a body over the limit, 422 for more documents than allowed', async () => {
    const s = server({ limits: { bodyLimit: 2000, maxDocuments: 3 } });
    await s.loaded;
    expectError(await post(s, { query: 'q', documents: ['x'.repeat(3000)] }), 413, 'BODY_TOO_LARGE');
    expectError(await post(s, { query: 'q', documents: ['a', 'b', 'c', 'd'] }), 422, 'INVALID_REQUEST', 'documents');
    expect((await post(s, { query: 'q', documents: ['a', 'b', 'c'] })).statusCode).toBe(200);
    await s.shutdown();
  });

  it("422 for the library's own refusals (a document over maxLength with truncate: false, a query that fills it)", async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), maxLength: 128 });
    const s = buildServer({ reranker: short, modelName: 'short' });
    const res = await post(s, { query: 'q', documents: ['ok', 'word '.repeat(200)], truncate: false });
    expectError(res, 422, 'DOCUMENT_TOO_LONG', 'documents[1]');
    expectError(await post(s, { query: 'query words '.repeat(100), documents: ['a', 'b'] }), 422, 'QUERY_TOO_LONG', 'query');
    await s.shutdown();
    expect(short.disposed).toBe(true);
  });
});

describe('authentication', () => {
  let s: RerankServer;
  beforeAll(() => {
    s = server({ apiKey: 'sekret-key' });
  });
  afterAll(() => s.shutdown());

  it('401 without the key or with a wrong one; 200 with it', async () => {
    expectError(await post(s, exampleRequest()), 401, 'UNAUTHORIZED');
    const wrong = await post(s, exampleRequest(), { authorization: 'Bearer sekret-kez' });
    expectError(wrong, 401, 'UNAUTHORIZED');
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expectError(await post(s, exampleRequest(), { authorization: 'sekret-key' }), 401, 'UNAUTHORIZED');
    expect((await post(s, exampleRequest(), { authorization: 'Bearer sekret-key' })).statusCode).toBe(200);
  });

  it('guards /v1/models but not /health', async () => {
    expectError(await s.app.inject({ method: 'GET', url: '/v1/models' }), 401, 'UNAUTHORIZED');
    expect((await s.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('GET /health and /v1/models', () => {
  it('report the model; 503 while it loads, then 200', async () => {
    let resolve!: (r: Reranker) => void;
    const s = server({ reranker: new Promise<Reranker>((r) => (resolve = r)) });
    const loading = await s.app.inject({ method: 'GET', url: '/health' });
    expect(loading.statusCode).toBe(503);
    expect(loading.json()).toMatchObject({ status: 'loading', error: { code: 'LOADING' } });
    expectError(await post(s, exampleRequest()), 503, 'LOADING');
    resolve(reranker);
    await s.loaded;
    expect((await s.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok', model: 'tiny' });
    expect((await post(s, exampleRequest())).statusCode).toBe(200);
    const models = (await s.app.inject({ method: 'GET', url: '/v1/models' })).json();
    expect(models).toMatchObject({ object: 'list', data: [{ id: 'tiny', object: 'model' }] });
    await s.shutdown();
  });

  it('503 with the reason when the model failed to load', async () => {
    const s = server({ reranker: Promise.reject(new RerankError('MODEL_LOAD_FAILED', 'bad file')) });
    await expect(s.loaded).rejects.toThrow('bad file');
    const res = await post(s, exampleRequest());
    expectError(res, 503, 'MODEL_LOAD_FAILED');
    expect(res.json().error.message).toContain('bad file');
    await s.shutdown();
  });
});

describe('over a socket', () => {
  it("answers the hosted API's cURL call", async () => {
    const s = server();
    const url = await s.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: HOSTED_HEADERS, body: JSON.stringify(hostedExample.request) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(await reranker.rerank(exampleRequest()));
    } finally {
      await s.shutdown();
    }
  });

  /** A server owning its model, on a port; `inHandler()` resolves when the next request reaches its handler. */
  async function listening() {
    const own = await Reranker.load({ model: tinyModel('rank') });
    const s = buildServer({ reranker: own, modelName: 'tiny' });
    const entered: (() => void)[] = [];
    s.app.addHook('preHandler', async () => entered.shift()?.());
    const url = await s.app.listen({ host: '127.0.0.1', port: 0 });
    const send = (body: unknown, signal?: AbortSignal) =>
      fetch(`${url}/v1/rerank`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal });
    return { own, s, url, send, inHandler: () => new Promise<void>((r) => entered.push(r)) };
  }
  /** About half a second of work on the tiny model. */
  const slowBody = { query: 'q', documents: Array.from({ length: 60 }, (_, i) => `document ${i} ${'lorem ipsum '.repeat(40)}`) };

  it('a client that hangs up has its queued request dropped', async () => {
    const { own, s, send, inHandler } = await listening();
    try {
      let started = inHandler();
      const slow = send(slowBody);
      await started;
      started = inHandler();
      const hangUp = new AbortController();
      const queued = send(exampleRequest(), hangUp.signal);
      await started;
      hangUp.abort();
      await expect(queued).rejects.toThrow();
      expect((await slow).status).toBe(200);
      expect((await send(exampleRequest())).status).toBe(200);
      expect(own.stats.requests).toBe(2); // the slow one and the last one; not the abandoned one
    } finally {
      await s.shutdown();
    }
  });

  it('graceful shutdown: 503 to new requests, the ones in flight finish, then the port closes', async () => {
    const { own, s, url, send, inHandler } = await listening();
    const started = inHandler();
    const slow = send(slowBody);
    await started;
    const stopped = s.shutdown();
    expect(s.state).toBe('closing');

    const refused = await send(exampleRequest());
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect((await refused.json()).error.code).toBe('SHUTTING_DOWN');

    const finished = await slow;
    expect(finished.status).toBe(200);
    expect((await finished.json()).results).toHaveLength(60);
    await stopped;
    expect(s.state).toBe('closed');
    expect(own.disposed).toBe(true);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('request bodies', () => {
  let s: RerankServer;
  beforeAll(() => {
    s = server();
  });
  afterAll(() => s.shutdown());
  const body = JSON.stringify({ query: 'q', documents: ['a', 'b'] });
  const send = (payload: string | Buffer, headers: Record<string, string>) => s.app.inject({ method: 'POST', url: '/v1/rerank', payload, headers });

  it('reads a text/plain body as JSON (fetch() with a string body sends it); 400 when it is not JSON', async () => {
    const ok = await send(body, { 'content-type': 'text/plain;charset=UTF-8' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().results).toHaveLength(2);
    expectError(await send('hello', { 'content-type': 'text/plain' }), 400, 'BAD_REQUEST', null);
  });

  it('says what is wrong with a body that is not JSON, naming the type it came as', async () => {
    const form = await send('query=a&documents=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expectError(form, 400, 'BAD_REQUEST', null);
    expect(form.json().error.message).toMatch(/not valid JSON.*application\/x-www-form-urlencoded/);
    const multipart = await send('--x\r\ncontent-disposition: form-data; name="query"\r\n\r\nq\r\n--x--\r\n', { 'content-type': 'multipart/form-data; boundary=x' });
    expectError(multipart, 415, 'UNSUPPORTED_MEDIA_TYPE', null);
    expect(multipart.json().error.message).toContain('multipart/form-data');
  });

  it('refuses a `__proto__` key as the unknown field it is, at any level', async () => {
    const top = await send('{"query":"q","documents":["a"],"__proto__":{"polluted":1}}', { 'content-type': 'application/json' });
    expectError(top, 422, 'INVALID_REQUEST', '__proto__');
    const nested = await send('{"query":"q","documents":[{"text":"a","__proto__":{"polluted":1}}]}', { 'content-type': 'application/json' });
    expectError(nested, 422, 'INVALID_REQUEST', 'documents[0].__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses unknown fields in document objects as at the top level: one rule everywhere', async () => {
    const res = await post(s, { query: 'q', documents: ['a', { text: 'b', title: 'T' }] });
    expectError(res, 422, 'INVALID_REQUEST', 'documents[1].title');
    expect(res.json().error.message).toBe('documents[1].title: is not a known field');
  });

  it('an empty body is the same 400 with or without a Content-Type', async () => {
    expectError(await send('', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST', null);
    expectError(await s.app.inject({ method: 'POST', url: '/v1/rerank' }), 400, 'BAD_REQUEST', null);
  });

  it('decodes gzip, deflate and br bodies; 400 for a body that is not what its encoding says; 415 for other encodings', async () => {
    const plain = (await send(body, { 'content-type': 'application/json' })).json();
    for (const [coding, encode] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      const res = await send(encode(body), { 'content-type': 'application/json', 'content-encoding': coding });
      expect(res.statusCode, coding).toBe(200);
      expect(res.json()).toEqual(plain);
    }
    expectError(await send(body, { 'content-type': 'application/json', 'content-encoding': 'br' }), 400, 'BAD_REQUEST', null);
    expectError(await send(body, { 'content-type': 'application/json', 'content-encoding': 'zstd' }), 415, 'UNSUPPORTED_MEDIA_TYPE', null);
  });

  it('a decoded body over the limit is 413, however small it came', async () => {
    const small = server({ limits: { bodyLimit: 2000 } });
    const big = gzipSync(JSON.stringify({ query: 'q', documents: ['x'.repeat(100_000)] }));
    expect(big.length).toBeLessThan(2000);
    const res = await small.app.inject({ method: 'POST', url: '/v1/rerank', payload: big, headers: { 'content-encoding': 'gzip' } });
    expectError(res, 413, 'BODY_TOO_LARGE');
    await small.shutdown();
  });
});

describe('methods', () => {
  it('405 with Allow for a wrong method on a route that exists; 404 for a path that does not', async () => {
    const s = server();
    const get = await s.app.inject({ method: 'GET', url: '/v1/rerank' });
    expectError(get, 405, 'METHOD_NOT_ALLOWED');
    expect(get.headers.allow).toBe('POST');
    const postHealth = await s.app.inject({ method: 'POST', url: '/health?x=1', payload: '{}' });
    expectError(postHealth, 405, 'METHOD_NOT_ALLOWED');
    expect(postHealth.headers.allow).toBe('GET, HEAD');
    expectError(await s.app.inject({ method: 'GET', url: '/v1/nothing' }), 404, 'NOT_FOUND');
    await s.shutdown();
  });
});

describe('the API key', () => {
  it('refuses a key no client could send (whitespace) when the server is built', () => {
    expect(() => server({ apiKey: 'my key' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'apiKey' }));
    expect(() => server({ apiKey: 'tab\tkey' })).toThrow(/apiKey/);
  });
});

describe('HTTP at the socket level', () => {
  let s: RerankServer;
  let port: number;
  beforeAll(async () => {
    s = server({ limits: { headersTimeoutMs: 400, requestTimeoutMs: 800 } });
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    port = (s.app.server.address() as AddressInfo).port;
  });
  afterAll(() => s.shutdown());

  function expectShape(res: RawResponse, status: number, code: string) {
    expect(res.status, res.text).toBe(status);
    expect(res.json).toEqual({ error: { message: expect.any(String), type: expect.any(String), code, param: null } });
  }

  it('malformed HTTP gets a 400 in the API error shape, and the connection closes', async () => {
    const malformed = {
      'bad chunk size': 'POST /v1/rerank HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      'Content-Length with Transfer-Encoding': 'POST /v1/rerank HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      'negative length': 'POST /v1/rerank HTTP/1.1\r\nhost: a\r\ncontent-length: -1\r\n\r\n',
      garbage: 'hello there\r\n\r\n',
    };
    for (const [what, data] of Object.entries(malformed)) {
      const res = await rawExchange(port, data, { untilClosed: true });
      expectShape(res, 400, 'BAD_REQUEST');
      expect(res.ended, what).toBe('closed');
    }
  });

  it('a malformed request pipelined after a valid one: the valid one is answered first, then the 400', async () => {
    const body = JSON.stringify({ query: 'q', documents: Array.from({ length: 40 }, (_, i) => `document ${i} ${'lorem ipsum '.repeat(20)}`) });
    const res = await rawExchange(port, rawRequest('POST', '/v1/rerank', body) + 'GARBAGE / HTTP/1.1\r\nhost: a\r\n\r\n', {
      untilClosed: true,
      waitMs: 20_000,
    });
    expect(res.ended).toBe('closed');
    // The 400 follows the 200's body at once (no line break between them).
    expect(res.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(res.json.results).toHaveLength(40);
  });

  it('a refused body is dropped, not decoded, and the connection serves the next request', async () => {
    const small = server({ limits: { bodyLimit: 1 << 20, headersTimeoutMs: 400, requestTimeoutMs: 800 } });
    await small.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const smallPort = (small.app.server.address() as AddressInfo).port;
      // Over the limit by its Content-Length, gzip: its decoder used to stall the connection until the
      // request timeout (408), the /health pipelined after it unanswered.
      const gz = gzipSync(randomBytes(2 << 20).toString('base64'));
      const head = `POST /v1/rerank HTTP/1.1\r\nhost: a\r\ncontent-encoding: gzip\r\ncontent-length: ${gz.length}\r\n\r\n`;
      const res = await rawExchange(smallPort, Buffer.concat([Buffer.from(head), gz, Buffer.from(rawRequest('GET', '/health'))]), { untilClosed: true, waitMs: 2000 });
      expect(res.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200']);
      // A body that stops short after its 413: the timeout closes the connection, with no second answer.
      const short = `POST /v1/rerank HTTP/1.1\r\nhost: a\r\ncontent-length: ${2 << 20}\r\n\r\n${'x'.repeat(3 << 19)}`;
      const cut = await rawExchange(smallPort, short, { untilClosed: true, waitMs: 5000 });
      expect(cut.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413']);
      expect(cut.ended).toBe('closed');
    } finally {
      await small.shutdown();
    }
  });

  it('packets after a malformed request are not answered again, nor watched again', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const socket = await rawConnect(port);
      socket.on('error', () => {});
      // A rerank long enough for the packets below to arrive while it computes.
      const body = JSON.stringify({ query: 'q', documents: Array.from({ length: 200 }, (_, i) => `document ${i} ${'lorem ipsum '.repeat(40)}`) });
      let got = '';
      socket.on('data', (d) => (got += d));
      const closed = new Promise((r) => socket.once('close', r));
      socket.write(rawRequest('POST', '/v1/rerank', body) + 'GARBAGE / HTTP/1.1\r\n\r\n');
      for (let i = 0; i < 30 && !got; i++) {
        socket.write(`more ${i}\r\n`);
        await new Promise((r) => setTimeout(r, 5)); // each its own packet
      }
      await closed;
      expect(got.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('431 for headers over the limit, 415 for a Content-Type that does not parse, in the same shape', async () => {
    expectShape(await rawExchange(port, rawRequest('GET', '/health', '', { 'x-big': 'a'.repeat(60_000) })), 431, 'HEADERS_TOO_LARGE');
    const body = JSON.stringify({ query: 'q', documents: ['a'] });
    expectShape(await rawExchange(port, rawRequest('POST', '/v1/rerank', body, { 'content-type': ';;;' })), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('408 and a closed connection for a body that stops short or headers that never end', async () => {
    const shortBody = await rawExchange(port, 'POST /v1/rerank HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\n0123456789', { untilClosed: true });
    expectShape(shortBody, 408, 'REQUEST_TIMEOUT');
    expect(shortBody.ended).toBe('closed');
    const slowHeaders = await rawExchange(port, 'GET /health HTTP/1.1\r\nhost: a\r\n');
    expectShape(slowHeaders, 408, 'REQUEST_TIMEOUT');
    expect(DEFAULT_LIMITS.headersTimeoutMs).toBeGreaterThan(0);
    expect(DEFAULT_LIMITS.requestTimeoutMs).toBeGreaterThan(0);
  });

  it('the timeouts bound receiving a request, never computing its answer', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const answer = { results: [{ index: 0, relevance_score: 0.5 }], usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } };
    const info = { kind: 'rank', backend: 'CPU', devices: [] };
    const stub = { rerank: async () => (await held, answer), info, dispose: () => {} } as unknown as Reranker;
    const quick = buildServer({ reranker: stub, modelName: 'stub', limits: { headersTimeoutMs: 100, requestTimeoutMs: 200 } });
    const url = await quick.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const pending = fetch(`${url}/v1/rerank`, { method: 'POST', body: JSON.stringify({ query: 'q', documents: ['a'] }) });
      setTimeout(release, 1500); // well past both timeouts
      const res = await pending;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(answer);
    } finally {
      await quick.shutdown();
    }
  });

  it('a client that half-closes after its request still reads the answer', async () => {
    const health = await rawExchange(port, rawRequest('GET', '/health'), { halfClose: true });
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok', model: 'tiny' });
    // Model work is dropped (a half-close and a hang-up look the same), and the client reads why.
    const body = JSON.stringify({ query: 'q', documents: ['a'] });
    const rerank = await rawExchange(port, rawRequest('POST', '/v1/rerank', body, { 'content-type': 'application/json' }), { halfClose: true, untilClosed: true });
    expectShape(rerank, 499, 'ABORTED');
    expect(rerank.ended).toBe('closed');
  });
});

describe('pipelined requests on a connection that closes', () => {
  /** About half a second of work each on the tiny model. */
  const slow = JSON.stringify({ query: 'q', documents: Array.from({ length: 60 }, (_, i) => `document ${i} ${'lorem ipsum '.repeat(40)}`) });

  for (const first of ['a rerank', 'a body that is not JSON']) {
    it(`drops their work as for a disconnect, and shutdown does not wait for them (after ${first})`, async () => {
      const own = await Reranker.load({ model: tinyModel('rank') });
      // Shutdown would wait this long for requests it believes are in flight; the test waits far less.
      const s = buildServer({ reranker: own, modelName: 'tiny', limits: { shutdownTimeoutMs: 600_000 } });
      let handled = 0;
      s.app.addHook('preHandler', async () => void handled++);
      await s.app.listen({ host: '127.0.0.1', port: 0 });
      const socket = await rawConnect((s.app.server.address() as AddressInfo).port);
      socket.on('error', () => {});
      const head = first === 'a rerank' ? rawRequest('POST', '/v1/rerank', slow) : rawRequest('POST', '/v1/rerank', '{"query": ', { 'content-type': 'application/json' });
      socket.write(head + rawRequest('POST', '/v1/rerank', slow) + rawRequest('POST', '/v1/rerank', slow));
      const expected = first === 'a rerank' ? 3 : 2;
      for (let i = 0; i < 200 && handled < expected; i++) await new Promise((r) => setTimeout(r, 25));
      expect(handled).toBe(expected);
      socket.destroy();
      const outcome = await Promise.race([s.shutdown().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 20_000))]);
      expect(outcome).toBe('stopped');
      expect(own.stats.requests).toBeLessThan(expected); // not every request was computed for a client that left
      await own.dispose();
    });
  }
});
