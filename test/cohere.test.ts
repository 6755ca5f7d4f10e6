// POST /v2/rerank with Cohere's official client (cohere-ai's CohereClientV2, its base URL set to
// the server on 127.0.0.1): the client's own rerank() gets the library's ranking, and its errors
// arrive as the client's typed errors with Cohere's body shape.
import { CohereClient, CohereClientV2, CohereError } from 'cohere-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { RerankServer, buildServer } from '../lib/server/app.js';
import { truncateDocuments } from '../lib/server/cohere.js';
import { exampleRequest, tinyModel } from './helpers.js';

let reranker: Reranker;
let server: RerankServer;
let origin: string;
beforeAll(async () => {
  reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
  server = buildServer({ reranker, modelName: 'tiny', apiKey: 'k3y', disposeOnShutdown: false });
  origin = await server.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.shutdown();
  reranker.dispose();
});

const client = (token = 'k3y') => new CohereClientV2({ token, baseUrl: origin });
const { query, documents } = exampleRequest() as { query: string; documents: string[] };

/** What the client throws: its status and the body the server sent. */
async function clientError(call: Promise<unknown>): Promise<{ statusCode?: number; body: Record<string, unknown> }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CohereError);
  return err as { statusCode?: number; body: Record<string, unknown> };
}

describe("Cohere's client against POST /v2/rerank", () => {
  it("gets the library's ranking, scores and token count through the client's own rerank()", async () => {
    const expected = await reranker.rerank({ query, documents, top_n: 3 });
    const res = await client().rerank({ model: 'rerank-v3.5', query, documents, topN: 3 });
    expect(res.results.map((r) => r.index)).toEqual(expected.results.map((r) => r.index));
    expect(res.results.map((r) => r.relevanceScore)).toEqual(expected.results.map((r) => r.relevance_score));
    expect(res.meta?.tokens?.inputTokens).toBe(expected.usage.prompt_tokens);
    expect(res.meta?.billedUnits?.searchUnits).toBe(1);
    expect(res.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ranks every document when top_n is absent', async () => {
    const expected = await reranker.rerank({ query, documents });
    const res = await client().rerank({ model: 'm', query, documents });
    expect(res.results.map((r) => [r.index, r.relevanceScore])).toEqual(expected.results.map((r) => [r.index, r.relevance_score]));
  });

  it('cuts each document to max_tokens_per_doc tokens', async () => {
    const long = `${documents[3]} `.repeat(20);
    const max = 12;
    const res = await client().rerank({ model: 'm', query, documents: [long, documents[0]], maxTokensPerDoc: max });
    const cut = await Promise.all([long, documents[0]].map((d) => reranker.truncate(d, max)));
    for (const d of cut) expect(await reranker.tokenize(d)).toHaveLength(max);
    const expected = await reranker.rerank({ query, documents: cut });
    expect(res.results.map((r) => [r.index, r.relevanceScore])).toEqual(expected.results.map((r) => [r.index, r.relevance_score]));
    expect(res.meta?.tokens?.inputTokens).toBe(expected.usage.prompt_tokens);
    const whole = await reranker.rerank({ query, documents: [long, documents[0]] });
    expect(expected.usage.prompt_tokens).toBeLessThan(whole.usage.prompt_tokens);
  });

  it("answers an invalid request with 400 and Cohere's { id, message }", async () => {
    const err = await clientError(client().rerank({ model: 'm', query, documents: [] }));
    expect(err.statusCode).toBe(400);
    expect(Object.keys(err.body).sort()).toEqual(['id', 'message']);
    expect(err.body.message).toMatch(/documents/);
  });

  it('refuses a wrong key with 401 in the same shape', async () => {
    const err = await clientError(client('wrong').rerank({ model: 'm', query, documents }));
    expect(err.statusCode).toBe(401);
    expect(Object.keys(err.body).sort()).toEqual(['id', 'message']);
  });

  it('refuses what v2 does not take: { text } documents, unknown fields (400)', async () => {
    const post = (body: object) =>
      fetch(`${origin}/v2/rerank`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: 'Bearer k3y', 'content-type': 'application/json' } });
    for (const body of [
      { model: 'm', query, documents: [{ text: 'a' }] },
      { model: 'm', query, documents, return_documents: true },
      { query, documents },
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(Object.keys(await res.json()).sort()).toEqual(['id', 'message']);
    }
  });

  it('reads null as unset in its optional fields, as /v1/rerank does', async () => {
    const res = await fetch(`${origin}/v2/rerank`, {
      method: 'POST',
      headers: { authorization: 'Bearer k3y' },
      body: JSON.stringify({ model: 'm', query, documents, top_n: null, max_tokens_per_doc: null, priority: null }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).results).toHaveLength(documents.length);
  });

  it("a wrong method (405, with Allow) or an unknown path under /v2 (404) is in Cohere's shape too", async () => {
    const headers = { authorization: 'Bearer k3y' };
    const wrongMethod = await fetch(`${origin}/v2/rerank`, { headers });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const unknown = await fetch(`${origin}/v2/embed`, { method: 'POST', headers });
    expect(unknown.status).toBe(404);
    for (const res of [wrongMethod, unknown]) expect(Object.keys(await res.json()).sort()).toEqual(['id', 'message']);
  });

  it("says 503 in Cohere's shape while the model loads", async () => {
    const loading = buildServer({ reranker: new Promise<Reranker>(() => {}), modelName: 'tiny' });
    const res = await loading.app.inject({ method: 'POST', url: '/v2/rerank', payload: { model: 'm', query, documents } });
    expect(res.statusCode).toBe(503);
    expect(Object.keys(res.json()).sort()).toEqual(['id', 'message']);
    await loading.app.close();
  });
});

describe("Cohere's v1 client against POST /v1/rerank", () => {
  it('gets the same ranking and documents: /v1/rerank has the v1 shape', async () => {
    const expected = await reranker.rerank({ query, documents, top_n: 2, return_documents: true });
    const res = await new CohereClient({ token: 'k3y', baseUrl: origin }).rerank({ model: 'm', query, documents, topN: 2, returnDocuments: true });
    expect(res.results).toEqual(expected.results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score, document: r.document })));
  });
});

describe('truncateDocuments', () => {
  /** Cuts as the server does, and keeps every text it was asked to cut. */
  const cutter = (asked: string[] = []) => (text: string, maxTokens: number) => {
    asked.push(text);
    return reranker.truncate(text, maxTokens);
  };

  it("cuts every document, each in its place", async () => {
    const texts = Array.from({ length: 11 }, (_, i) => (i % 3 === 0 ? 'short' : `${i} ${'lorem ipsum '.repeat(10 * i)}`));
    const asked: string[] = [];
    const cut = await truncateDocuments(cutter(asked), texts, 8);
    expect(cut).toEqual(await Promise.all(texts.map((t) => reranker.truncate(t, 8))));
    for (const t of cut) expect((await reranker.tokenize(t)).length).toBeLessThanOrEqual(8);
    expect(asked.sort()).toEqual([...texts].sort());
    // no fewer bytes than max_tokens_per_doc is no proof of fitting: NFC makes U+0F76's 3 bytes 6 tokens
    const [lengthened] = await truncateDocuments(cutter(), ['\u0F76'.repeat(10)], 30);
    expect((await reranker.tokenize(lengthened)).length).toBeLessThanOrEqual(30);
  });

  it('stops taking up documents when the signal aborts (the client left)', async () => {
    const ctl = new AbortController();
    const asked: string[] = [];
    const cut = cutter(asked);
    const abortingAtThird = (text: string, maxTokens: number) => {
      if (asked.length === 2) ctl.abort();
      return cut(text, maxTokens);
    };
    const texts = Array.from({ length: 100 }, (_, i) => `${i} ${'word '.repeat(500)}`);
    await expect(truncateDocuments(abortingAtThird, texts, 100, ctl.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the cutters still running have stopped by now
    expect(asked).toHaveLength(3);
  });
});
