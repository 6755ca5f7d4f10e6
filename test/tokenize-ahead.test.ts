// Tokenizing ahead (the load option tokenizeAhead): a packed call's first pairs, one decode call's
// worth per context, decode while the rest of its documents tokenize (native/reranker.cpp
// firstRound). The scores must be those without it within the batch-layout tolerance of the exact
// path; a request's failures, its token budget, its windows and an abort must come out as without it.
import { describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { type NativeGroup, type NativeLoadOptions, nativeModule } from '../lib/native.js';
import type { RerankRequest } from '../lib/types.js';
import { expectClose, scoresByIndex, tinyModel, withModel } from './helpers.js';

// The exact path (F32 model, F32 KV, flash attention off): only the batch layout differs. 256-token
// calls, so that a request of a few dozen documents holds several rounds of them.
const exact = { flashAttention: 'off', kvType: 'f32', batchSize: 256, reproducible: false } as const;
const TOLERANCE = 1e-4;
const INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';

const words = (seed: number, n: number) =>
  Array.from({ length: n }, (_, k) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'][(seed * 5 + k * 3) % 7]).join(' ');
// 60 documents of 12 to 40 words: about 2,500 tokens to decode, 10 calls of 256.
const large: RerankRequest = { query: 'what is beta', documents: Array.from({ length: 60 }, (_, i) => words(i, 12 + ((i * 11) % 29))) };
const others: RerankRequest[] = Array.from({ length: 3 }, (_, r) => ({
  query: `query ${r}`,
  documents: Array.from({ length: 20 + 10 * r }, (_, d) => words(r + d, 8 + ((r * 7 + d * 13) % 30))),
}));

/** Scores of each request, alone and then all at once, and the pairs decoded ahead in each alone. */
async function scoresOf(r: Reranker, requests: RerankRequest[]): Promise<{ alone: number[][]; together: number[][]; ahead: number[] }> {
  const alone: number[][] = [];
  const ahead: number[] = [];
  for (const q of requests) {
    const before = r.stats.pairsAhead;
    alone.push(scoresByIndex(await r.rerank(q)));
    ahead.push(r.stats.pairsAhead - before);
  }
  const together = (await Promise.all(requests.map((q) => r.rerank(q)))).map(scoresByIndex);
  return { alone, together, ahead };
}

describe('tokenizing ahead', () => {
  it('scores as without it, on one context and three, both kinds of GGUF, alone and packed, on KV streams too', async () => {
    const requests = [large, ...others];
    for (const way of [{ contexts: 1 }, { contexts: 3 }, { contexts: 3, model: tinyModel('causal') }, { contexts: 3, kvStreams: 4 }]) {
      const want = await withModel({ ...exact, ...way, tokenizeAhead: false }, async (r) => {
        expect(r.info.tokenizeAhead).toBe(false);
        return scoresOf(r, requests);
      });
      expect(want.ahead).toEqual(requests.map(() => 0));
      const got = await withModel({ ...exact, ...way, tokenizeAhead: true }, async (r) => {
        expect(r.info.tokenizeAhead).toBe(true);
        return scoresOf(r, requests);
      });
      // in effect on the large request: some of its pairs, not all, decoded while the rest tokenized
      expect(got.ahead[0]).toBeGreaterThan(0);
      expect(got.ahead[0]).toBeLessThan(large.documents.length);
      requests.forEach((_, i) => {
        expectClose(got.alone[i], want.alone[i], TOLERANCE);
        expectClose(got.together[i], want.alone[i], TOLERANCE);
      });
    }
  });

  it('on KV streams, starts the rest on the prefixes its round left: no query decoded again', async () => {
    // Documents of one length in tokens, every other one with another first word: pairs of one
    // length decode with no padding, and the round's pairs, the rest's and all of them share the same
    // prefix (system line, instruction, query). So tokenizing ahead computes exactly the tokens of
    // without it (without the round's prefixes, the rest would decode the query again on each of the
    // 4 streams).
    const documents = Array.from({ length: 24 }, (_, i) => `${i % 2 === 0 ? 'beta' : 'alpha'} item ${10 + i}`);
    const request: RerankRequest = { query: 'what is beta', documents };
    const measure = (tokenizeAhead: boolean) =>
      withModel({ ...exact, contexts: 1, kvStreams: 4, tokenizeAhead }, async (r) => {
        const lengths = new Set<number>();
        for (const d of documents) lengths.add((await r.rerank({ query: request.query, documents: [d] })).usage.prompt_tokens);
        expect(lengths.size).toBe(1);
        const before = { ...r.stats };
        const scores = scoresByIndex(await r.rerank(request));
        return { scores, tokens: r.stats.computedTokens - before.computedTokens, ahead: r.stats.pairsAhead - before.pairsAhead };
      });
    const without = await measure(false);
    const got = await measure(true);
    expect(got.ahead).toBeGreaterThan(0);
    expect(got.ahead).toBeLessThan(documents.length);
    expect(got.tokens).toBe(without.tokens);
    expectClose(got.scores, without.scores, TOLERANCE);
  });

  it('keeps windows and the token budget of a slice as without it', async () => {
    // 64-token calls: a slice holds at most 32 of them (2,048 tokens), so the large request goes to
    // native code in several slices, each with a first round of its own; and long documents scored
    // in windows (max_chunks_per_doc), whose windows may fall on both sides of a round.
    const small = { ...exact, batchSize: 64, maxLength: 96, contexts: 2 };
    const chunked: RerankRequest = { query: 'q', documents: Array.from({ length: 30 }, (_, i) => words(i, 20 + ((i * 17) % 90))), max_chunks_per_doc: 4 };
    const run = (tokenizeAhead: boolean) =>
      withModel({ ...small, tokenizeAhead }, async (r) => {
        const before = r.stats;
        const a = await r.rerank(large);
        const b = await r.rerank(chunked);
        return { large: scoresByIndex(a), chunked: scoresByIndex(b), usage: [a.usage, b.usage], ahead: r.stats.pairsAhead - before.pairsAhead };
      });
    const want = await run(false);
    const got = await run(true);
    expect(got.ahead).toBeGreaterThan(0);
    expect(got.usage).toEqual(want.usage);
    expectClose(got.large, want.large, TOLERANCE);
    expectClose(got.chunked, want.chunked, TOLERANCE);
  });

  it('spans requests in one call: a round across several, one refused by its query, one cut by its budget', async () => {
    // Native code's call as the scheduler makes it, packed: the round (2 contexts of 256-token calls)
    // ends past the first requests, after one whose query leaves no room and one whose token budget
    // stops it after a few documents.
    const group = (id: number, query: string, documents: string[], tokenBudget = 0): NativeGroup => ({
      id, instruction: INSTRUCTION, query, documents, maxLength: 128, truncate: true, sharePrefix: true, maxChunks: 1, chunkOverlap: 80, tokenBudget,
    });
    const docs = (seed: number, n: number) => Array.from({ length: n }, (_, i) => words(seed + i, 6 + ((i * 5) % 17)));
    const groups = [
      group(1, 'first', docs(1, 3)),
      group(2, 'too long '.repeat(60), docs(2, 4)),
      group(3, 'second', docs(3, 4)),
      group(4, 'budget', docs(4, 30), 300),
      group(5, 'third', docs(5, 120)),
    ];
    const options = (tokenizeAhead: 'on' | 'off'): NativeLoadOptions => ({
      path: tinyModel('rank'), gpu: 'cpu', threads: 2, maxLength: 128, batchSize: 256, ubatchSize: 256, maxSequences: 64,
      flashAttention: 'off', kvType: 'f32', pack: true, contexts: 2, tokenizeAhead,
    });
    const call = async (tokenizeAhead: 'on' | 'off') => {
      const model = await nativeModule().loadModel(options(tokenizeAhead));
      try {
        return await model.score(groups);
      } finally {
        model.dispose();
      }
    };
    const want = await call('off');
    const got = await call('on');
    // the round reaches past the first three requests' documents (3 + 4)
    expect(got.pairsAhead).toBeGreaterThan(7);
    expect(want.groups[1].errorCode).toBe('QUERY_TOO_LONG');
    expect(want.groups[3].completed).toBeLessThan(30);
    got.groups.forEach((g, i) => {
      const w = want.groups[i];
      expect({ completed: g.completed, errorCode: g.errorCode, pairTokens: g.pairTokens }).toEqual({
        completed: w.completed, errorCode: w.errorCode, pairTokens: w.pairTokens,
      });
      expectClose(Array.from(g.scores), Array.from(w.scores), TOLERANCE);
    });
  });

  it('keeps a failure or an abort to its request, and the model usable', async () => {
    await withModel({ ...exact, contexts: 2, maxLength: 128, tokenizeAhead: true }, async (r) => {
      const want = scoresByIndex(await r.rerank(others[0]));
      // a document too long (truncation off) far after the first round's
      const failing: RerankRequest = { ...large, documents: [...large.documents.slice(0, 50), 'long '.repeat(400), ...large.documents.slice(50)], truncate: false };
      // alone: its first round decodes before its document 50 fails the request
      const before = r.stats.pairsAhead;
      await expect(r.rerank(failing)).rejects.toMatchObject({ code: 'DOCUMENT_TOO_LONG', field: 'documents[50]' });
      expect(r.stats.pairsAhead).toBeGreaterThan(before);
      const ctl = new AbortController();
      const results = await Promise.allSettled([
        r.rerank(failing),
        // aborted once native code holds it: in its first round or while the rest tokenizes
        r.rerank({ ...large, signal: ctl.signal }, { onStart: () => ctl.abort() }),
        r.rerank(others[0]),
      ]);
      expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'DOCUMENT_TOO_LONG', field: 'documents[50]' } });
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
      expect(results[2].status).toBe('fulfilled');
      if (results[2].status === 'fulfilled') expectClose(scoresByIndex(results[2].value), want, TOLERANCE);
      expectClose(scoresByIndex(await r.rerank(others[0])), want, TOLERANCE);
    });
  });

  it('is in effect by default with every layer on a GPU only, and only packed', async () => {
    const inEffect = (options: Parameters<typeof withModel>[0]) => withModel(options, async (r) => r.info.tokenizeAhead);
    expect(await inEffect({})).toBe(false); // the CPU: its cores decode
    expect(await inEffect({ reproducible: false })).toBe(false);
    expect(await inEffect({ reproducible: false, tokenizeAhead: true })).toBe(true);
    expect(await inEffect({ reproducible: true, tokenizeAhead: true })).toBe(false);
    expect(await inEffect({ reproducible: false, kvStreams: 2, tokenizeAhead: true })).toBe(true);
    await expect(Reranker.load({ model: tinyModel('rank'), tokenizeAhead: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field: 'tokenizeAhead',
    });
  });
});
