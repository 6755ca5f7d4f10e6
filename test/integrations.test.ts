// The framework integrations inside the real frameworks: LangChain.js's ContextualCompressionRetriever
// over an in-memory vector store, LlamaIndex.TS's nodes; each scoring in-process and through a
// server on 127.0.0.1, and each answering as reranker.rerank() does.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document } from '@langchain/core/documents';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { MetadataMode, TextNode } from '@llamaindex/core/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { LlamaRerankCompressor, RerankServerError } from '../lib/integrations/langchain.js';
import { LlamaRerankPostprocessor } from '../lib/integrations/llamaindex.js';
import { RerankServer, buildServer } from '../lib/server/app.js';
import { exampleRequest, tinyModel } from './helpers.js';

let reranker: Reranker;
let server: RerankServer;
let url: string;
beforeAll(async () => {
  reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
  server = buildServer({ reranker, modelName: 'tiny', apiKey: 'k3y', disposeOnShutdown: false });
  url = await server.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.shutdown();
  reranker.dispose();
});

const { query, documents: texts } = exampleRequest() as { query: string; documents: string[] };
const sources = () => [
  ['in-process', { reranker }],
  ['a server', { url, apiKey: 'k3y' }],
] as const;

describe('LlamaRerankCompressor (LangChain.js)', () => {
  it.each([0, 1])('reranks what a ContextualCompressionRetriever retrieves (source %#)', async (s) => {
    const [, source] = sources()[s];
    const docs = texts.map((pageContent, i) => new Document({ pageContent, metadata: { source: `doc-${i}` } }));
    const store = await MemoryVectorStore.fromDocuments(docs, new SyntheticEmbeddings({ vectorSize: 16 }));
    const baseRetriever = store.asRetriever(4);
    const retriever = new ContextualCompressionRetriever({ baseCompressor: new LlamaRerankCompressor({ ...source, topN: 2 }), baseRetriever });

    const got = await retriever.invoke(query);
    const retrieved = await baseRetriever.invoke(query);
    const expected = await reranker.rerank({ query, documents: retrieved.map((d) => d.pageContent), top_n: 2 });
    expect(got.map((d) => d.pageContent)).toEqual(expected.results.map((r) => retrieved[r.index].pageContent));
    expect(got.map((d) => d.metadata.relevanceScore)).toEqual(expected.results.map((r) => r.relevance_score));
    expect(got.map((d) => d.metadata.source)).toEqual(expected.results.map((r) => retrieved[r.index].metadata.source));
    // The store's own documents are not changed.
    expect(retrieved.every((d) => !('relevanceScore' in d.metadata))).toBe(true);
  });

  it('keeps 3 by default as CohereRerank does, and rerank() gives indexes', async () => {
    const compressor = new LlamaRerankCompressor({ reranker });
    const docs = texts.map((pageContent) => new Document({ pageContent }));
    expect(await compressor.compressDocuments(docs, query)).toHaveLength(3);
    expect(await compressor.compressDocuments([], query)).toEqual([]);
    const expected = await reranker.rerank({ query, documents: texts });
    expect(await compressor.rerank(texts, query)).toEqual(expected.results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score })));
  });

  it("passes the server's error on as a RerankServerError", async () => {
    const compressor = new LlamaRerankCompressor({ url, apiKey: 'wrong' });
    await expect(compressor.compressDocuments([new Document({ pageContent: 'a' })], query)).rejects.toMatchObject({
      name: 'RerankServerError',
      status: 401,
      code: 'UNAUTHORIZED',
    });
    const empty = new LlamaRerankCompressor({ url, apiKey: 'k3y' });
    const err = await empty.rerank([''], '').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RerankServerError);
    expect(err).toMatchObject({ status: 422, code: 'INVALID_REQUEST', param: 'query' });
  });

  it('needs a reranker or a URL, and a positive integer topN', () => {
    expect(() => new LlamaRerankCompressor({} as never)).toThrow(/reranker.*url/);
    for (const topN of [0, -1, 1.5, '2']) {
      expect(() => new LlamaRerankCompressor({ reranker, topN: topN as number })).toThrow(/topN/);
      expect(() => new LlamaRerankPostprocessor({ reranker, topN: topN as number })).toThrow(/topN/);
    }
  });

  it("calls <url>/v1/rerank keeping the URL's path prefix and query (a proxy's)", async () => {
    const seen: string[] = [];
    const proxy = createServer((req, res) => {
      seen.push(req.url!);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ results: [{ index: 0, relevance_score: 0.5 }], usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } }));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const origin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      for (const base of [`${origin}/base/x?token=t`, `${origin}/base/x/`, origin]) await new LlamaRerankCompressor({ url: base }).rerank(['a'], 'q');
      expect(seen).toEqual(['/base/x/v1/rerank?token=t', '/base/x/v1/rerank', '/v1/rerank']);
    } finally {
      proxy.close();
    }
  });
});

describe('LlamaRerankPostprocessor (LlamaIndex.TS)', () => {
  const nodes = () =>
    texts.map((text, i) => ({ node: new TextNode({ text, metadata: { page: i } }), score: 1 - i / 10 }));

  it.each([0, 1])('keeps the top nodes with their relevance as score (source %#)', async (s) => {
    const [, source] = sources()[s];
    const input = nodes();
    const got = await new LlamaRerankPostprocessor({ ...source, topN: 3 }).postprocessNodes(input, query);
    // Scored as LlamaIndex's own rerankers score: the node's content with its metadata (ALL).
    const scored = input.map(({ node }) => node.getContent(MetadataMode.ALL));
    expect(scored[0]).toContain('page: 0');
    const expected = await reranker.rerank({ query, documents: scored, top_n: 3 });
    expect(got.map((n) => n.node)).toEqual(expected.results.map((r) => input[r.index].node));
    expect(got.map((n) => n.score)).toEqual(expected.results.map((r) => r.relevance_score));
  });

  it('takes a message-content query, metadataMode NONE, and keeps 2 by default', async () => {
    const input = nodes();
    const post = new LlamaRerankPostprocessor({ reranker, metadataMode: MetadataMode.NONE });
    const got = await post.postprocessNodes(input, [{ type: 'text', text: query }]);
    const expected = await reranker.rerank({ query, documents: texts, top_n: 2 });
    expect(got.map((n) => n.score)).toEqual(expected.results.map((r) => r.relevance_score));
    expect(await post.postprocessNodes([], query)).toEqual([]);
    await expect(post.postprocessNodes(input)).rejects.toThrow(/query/);
  });
});
