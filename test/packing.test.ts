// Packing (reproducible: false, a GPU's default): pairs of concurrent requests share decode calls,
// each request keeping its own shared prefix. Scores must stay those of one-by-one decoding within
// the batch-layout tolerance of the exact path, and the calls must be fuller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { scoresByIndex, tinyModel } from './helpers.js';

const requests = Array.from({ length: 16 }, (_, r) => ({
  query: `query number ${r} ${'about things '.repeat(r % 4)}`,
  documents: Array.from({ length: 4 }, (_, d) => `document ${d} of ${r}: ${'some words here '.repeat(1 + ((r + d) % 5))}`),
}));

describe('packing concurrent requests into shared decode calls', () => {
  // The exact path (F32 model, F32 KV, flash attention off): only the batch layout differs.
  const exact = { flashAttention: 'off', kvType: 'f32' } as const;
  let packed: Reranker;
  let alone: Reranker;
  beforeAll(async () => {
    packed = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: false });
    alone = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: true });
  });
  afterAll(() => {
    packed.dispose();
    alone.dispose();
  });

  it('reports the choice: packed when not reproducible, and the CPU default is reproducible', async () => {
    expect(packed.info.pack).toBe(true);
    expect(alone.info.pack).toBe(false);
    const cpuDefault = await Reranker.load({ model: tinyModel('rank'), gpu: 'cpu' });
    expect(cpuDefault.info.pack).toBe(false);
    cpuDefault.dispose();
  });

  it('gives each concurrent request the scores it gets alone', async () => {
    const one: number[][] = [];
    for (const r of requests) one.push(scoresByIndex(await alone.rerank(r)));
    const together = await Promise.all(requests.map((r) => packed.rerank(r)));
    together.forEach((res, i) => {
      const got = scoresByIndex(res);
      got.forEach((s, d) => expect(Math.abs(s - one[i][d])).toBeLessThan(1e-4));
    });
    // both kinds of GGUF: the causal kind reads logits by batch index, the rank kind hidden rows
    const causalPacked = await Reranker.load({ model: tinyModel('causal'), ...exact, reproducible: false });
    try {
      const causalTogether = await Promise.all(requests.map((r) => causalPacked.rerank(r)));
      causalTogether.forEach((res, i) => scoresByIndex(res).forEach((s, d) => expect(Math.abs(s - one[i][d])).toBeLessThan(1e-4)));
    } finally {
      causalPacked.dispose();
    }
  });

  it('needs half the decode calls of decoding each request alone, each call as full as the tokens allow', async () => {
    const calls = async (r: Reranker) => {
      const before = r.stats;
      await Promise.all(requests.map((q) => r.rerank(q)));
      return { calls: r.stats.decodeCalls - before.decodeCalls, tokens: r.stats.computedTokens - before.computedTokens };
    };
    // the instruction's head decoded and kept before counting (native/pair_decoder.h)
    await Promise.all([packed.rerank(requests[0]), alone.rerank(requests[0])]);
    const packedRun = await calls(packed);
    const aloneRun = await calls(alone);
    // alone: each request fits one call, its pairs decoded in the call that decodes its prefix
    expect(aloneRun.calls).toBe(requests.length);
    // packed: calls as full as the tokens allow, one partly filled call per native call at most
    // (the scheduler gives up to 8 requests to a native call: 2 here)
    const batch = packed.info.batchSize;
    expect(packedRun.calls).toBeLessThanOrEqual(Math.ceil(packedRun.tokens / batch) + 2);
    expect(packedRun.calls).toBeLessThanOrEqual(aloneRun.calls / 2);
  });

  it('keeps the requests apart: a failing one fails alone, an aborted one leaves the rest', async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: false, maxLength: 128 });
    try {
      const ctl = new AbortController();
      const pending = [
        short.rerank(requests[0]),
        short.rerank({ query: 'q', documents: ['ok', 'long '.repeat(400)], truncate: false }),
        short.rerank({ ...requests[1], signal: ctl.signal }),
        short.rerank(requests[2]),
      ];
      ctl.abort(); // all four are in the same native call by now
      const results = await Promise.allSettled(pending);
      expect(results[0].status).toBe('fulfilled');
      expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'DOCUMENT_TOO_LONG', field: 'documents[1]' } });
      expect(results[3].status).toBe('fulfilled');
      const a = scoresByIndex((results[0] as PromiseFulfilledResult<Awaited<ReturnType<Reranker['rerank']>>>).value);
      const b = scoresByIndex(await short.rerank(requests[0]));
      a.forEach((s, i) => expect(Math.abs(s - b[i])).toBeLessThan(1e-4));
    } finally {
      short.dispose();
    }
  });

  it('a long pair spanning decode calls among packed requests scores as alone', async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: false, batchSize: 64 });
    try {
      const mixed = [
        { query: 'q1', documents: ['tiny', 'lorem ipsum '.repeat(60), 'short text'] },
        { query: 'q2 is longer', documents: ['dolor sit amet '.repeat(30)] },
        { query: 'q3', documents: ['a', 'b', 'c', 'd', 'e'] },
      ];
      const together = await Promise.all(mixed.map((r) => short.rerank(r)));
      for (let i = 0; i < mixed.length; i++) {
        const one = scoresByIndex(await alone.rerank(mixed[i]));
        scoresByIndex(together[i]).forEach((s, d) => expect(Math.abs(s - one[d])).toBeLessThan(1e-4));
      }
    } finally {
      short.dispose();
    }
  });
});
