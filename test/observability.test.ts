// Watching `serve`: GET /metrics scraped and parsed, GET /openapi.json checked against the server's
// own schemas and real answers, and the request log of `llama-rerank serve --log-level`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { RerankServer, ServerOptions, buildServer } from '../lib/server/app.js';
import { cohereRerankBodySchema } from '../lib/server/cohere.js';
import { rerankBodySchema } from '../lib/server/schema.js';
import type { RerankRequest } from '../lib/types.js';
import { packageRoot } from '../models/paths.js';
import { exampleRequest, tinyModel } from './helpers.js';

let reranker: Reranker;
beforeAll(async () => {
  reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
});
afterAll(() => reranker.dispose());

const server = (options: Partial<ServerOptions> = {}): RerankServer =>
  buildServer({ reranker, modelName: 'tiny', disposeOnShutdown: false, ...options });

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format: samples by name, and each metric's declared type. */
function parseMetrics(text: string): { samples: Map<string, Sample[]>; types: Map<string, string> } {
  const samples = new Map<string, Sample[]>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    // Numbers, infinities and NaN (a fresh event-loop monitor's, which prom-client writes 'Nan':
    // Prometheus reads it, as Go's ParseFloat, in any case).
    expect(m[3]).toMatch(/^(?:[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[-+]Inf|nan)$/i);
    const value = m[3].endsWith('Inf') ? (m[3][0] === '-' ? -Infinity : Infinity) : Number(m[3]);
    samples.set(m[1], [...(samples.get(m[1]) ?? []), { labels, value }]);
  }
  return { samples, types };
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value(samples: Map<string, Sample[]>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = (samples.get(name) ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

async function scrape(s: RerankServer) {
  const res = await s.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.body);
}

describe('GET /metrics', () => {
  it('counts requests by route and status, documents and prompt tokens, and times them', async () => {
    const s = server();
    await s.loaded;
    const req = exampleRequest();
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push((await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: req as object })).json());
    const cohere = await s.app.inject({ method: 'POST', url: '/v2/rerank', payload: { model: 'm', query: req.query, documents: req.documents.slice(0, 2) } });
    expect(cohere.statusCode).toBe(200);
    expect((await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: { query: '', documents: ['a'] } })).statusCode).toBe(422);
    await s.app.inject({ method: 'GET', url: '/no/such/route' });

    const { samples, types } = await scrape(s);
    expect(value(samples, 'llama_rerank_requests_total', { route: '/v1/rerank', method: 'POST', status: '200' })).toBe(2);
    expect(value(samples, 'llama_rerank_requests_total', { route: '/v1/rerank', status: '422' })).toBe(1);
    expect(value(samples, 'llama_rerank_requests_total', { route: '/v2/rerank', status: '200' })).toBe(1);
    expect(value(samples, 'llama_rerank_requests_total', { route: 'unmatched', status: '404' })).toBe(1);

    const labels = { backend: reranker.info.backend };
    expect(value(samples, 'llama_rerank_documents_total', labels)).toBe(2 * req.documents.length + 2);
    const tokens = answers.reduce((n, a) => n + a.usage.prompt_tokens, 0) + cohere.json().meta.tokens.input_tokens;
    expect(value(samples, 'llama_rerank_prompt_tokens_total', labels)).toBe(tokens);

    expect(value(samples, 'llama_rerank_request_duration_seconds_count', { route: '/v1/rerank' })).toBe(3);
    const buckets = samples.get('llama_rerank_request_duration_seconds_bucket')!.filter((b) => b.labels.route === '/v1/rerank');
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 3 });
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b)); // cumulative

    const info = samples.get('llama_rerank_model_info')!;
    expect(info).toEqual([{ labels: { model: 'tiny', kind: 'rank', backend: reranker.info.backend, device: expect.any(String) }, value: 1 }]);
    expect(value(samples, 'llama_rerank_model_load_seconds', labels)).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'llama_rerank_requests_in_flight')).toBe(0);
    expect(value(samples, 'llama_rerank_worker_restarts_total')).toBe(0);
    expect(value(samples, 'llama_rerank_queue_wait_seconds_count', labels)).toBe(3); // the scheduler reports each start
    expect(types.get('llama_rerank_requests_total')).toBe('counter');
    expect(types.get('llama_rerank_request_duration_seconds')).toBe('histogram');
    expect(types.get('llama_rerank_queue_wait_seconds')).toBe('histogram');
    expect(types.get('llama_rerank_requests_in_flight')).toBe('gauge');
    expect(samples.has('process_resident_memory_bytes')).toBe(true);
    await s.shutdown();
  });

  it("reads worker restarts from the model's stats, and records queue wait when the model reports its start", async () => {
    let started = 0;
    const model = {
      get info() {
        return reranker.info;
      },
      get stats() {
        return { ...reranker.stats, restarts: 3 };
      },
      rerank: (request: RerankRequest, hooks?: { onStart?: () => void }) => {
        started++;
        hooks?.onStart?.();
        return reranker.rerank(request);
      },
      tokenize: (text: string) => reranker.tokenize(text),
    } as unknown as Reranker;
    const s = server({ reranker: model });
    await s.loaded;
    await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() as object });
    const { samples } = await scrape(s);
    expect(started).toBe(1);
    expect(value(samples, 'llama_rerank_worker_restarts_total')).toBe(3);
    expect(value(samples, 'llama_rerank_queue_wait_seconds_count', { backend: reranker.info.backend })).toBe(1);
    await s.shutdown();
  });

  it('counts the requests in flight, and 503s while the model loads', async () => {
    let release!: (r: Reranker) => void;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const held = Object.create(reranker, { rerank: { value: (req: RerankRequest) => gate.then(() => reranker.rerank(req)) } }) as Reranker;
    const s = server({ reranker: new Promise<Reranker>((r) => (release = r)) });
    await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() as object });
    let { samples } = await scrape(s);
    expect(value(samples, 'llama_rerank_requests_total', { route: '/v1/rerank', status: '503' })).toBe(1);
    expect(samples.has('llama_rerank_model_info')).toBe(false);
    release(held);
    await s.loaded;
    const pending = s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() as object });
    // The request is held at the model until the gate opens: wait for the server to accept it.
    for (let i = 0; i < 500 && value(samples, 'llama_rerank_requests_in_flight') !== 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
      ({ samples } = await scrape(s));
    }
    expect(value(samples, 'llama_rerank_requests_in_flight')).toBe(1);
    open();
    expect((await pending).statusCode).toBe(200);
    ({ samples } = await scrape(s));
    expect(value(samples, 'llama_rerank_requests_in_flight')).toBe(0);
    await s.shutdown();
  });
});

describe('GET /openapi.json', () => {
  it("describes every route with the server's own request schemas, and real answers fit it", async () => {
    const s = server({ limits: { maxDocuments: 7 } });
    await s.loaded;
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/health', '/metrics', '/openapi.json', '/rerank', '/v1/models', '/v1/rerank', '/v2/rerank']);
    const body = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema;
    expect(body('/v1/rerank')).toEqual(JSON.parse(JSON.stringify(rerankBodySchema(7))));
    expect(body('/v2/rerank')).toEqual(JSON.parse(JSON.stringify(cohereRerankBodySchema(7))));
    expect(doc.paths['/health'].get.security).toBeUndefined();

    const ajv = new Ajv({ strict: false });
    const fits = (path: string, status: '200' | 'default', answer: unknown) => {
      const schema = doc.paths[path].post.responses[status].content['application/json'].schema;
      expect(ajv.validate(schema, answer), JSON.stringify(ajv.errors)).toBe(true);
    };
    const req = exampleRequest();
    const post = (url: string, payload: object) => s.app.inject({ method: 'POST', url, payload }).then((r) => r.json());
    fits('/v1/rerank', '200', await post('/v1/rerank', { ...req, return_documents: true }));
    fits('/v1/rerank', 'default', await post('/v1/rerank', { ...req, top_n: 0 }));
    fits('/v2/rerank', '200', await post('/v2/rerank', { model: 'm', query: req.query, documents: req.documents }));
    fits('/v2/rerank', 'default', await post('/v2/rerank', { model: 'm', query: req.query, documents: [] }));
    // The schemas can fail: /v1's answer is not Cohere's.
    expect(ajv.validate(doc.paths['/v2/rerank'].post.responses['200'].content['application/json'].schema, await post('/v1/rerank', req))).toBe(false);
    await s.shutdown();
  });

  it('marks the routes behind the API key', async () => {
    const s = server({ apiKey: 'k3y' });
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json', headers: { authorization: 'Bearer k3y' } })).json();
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/rerank'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/health'].get.security).toBeUndefined();
    await s.shutdown();
  });
});

describe('llama-rerank serve --log-level', () => {
  /** Serves, makes one request, stops; what it wrote on stdout. */
  async function serveOnce(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [join(packageRoot, 'dist', 'lib', 'cli', 'main.js'), 'serve', '--model', tinyModel('rank'), '--port', '0', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await Promise.race([
      new Promise<string>((resolve) =>
        child.stderr.on('data', () => {
          const m = /ready \((http:\/\/[^)]+)\)/.exec(stderr);
          if (m) resolve(m[1]);
        }),
      ),
      exited.then(() => undefined),
    ]);
    if (url) {
      expect((await fetch(`${url}/v1/rerank`, { method: 'POST', body: JSON.stringify(exampleRequest()), headers: { 'content-type': 'application/json' } })).status).toBe(200);
      child.kill('SIGTERM');
    }
    return { code: await exited, stdout, stderr };
  }

  it('logs each request as JSON lines with its id at info, nothing per request by default', async () => {
    const info = await serveOnce(['--log-level', 'info']);
    expect(info.code).toBe(0);
    const lines = info.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const completed = lines.filter((l) => l.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ level: 30, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), res: { statusCode: 200 } });
    expect(lines.filter((l) => l.reqId === completed[0].reqId).length).toBeGreaterThanOrEqual(2); // received and completed

    const quiet = await serveOnce([]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');

    const bad = await serveOnce(['--log-level', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--log-level must be one of/);
  });
});
