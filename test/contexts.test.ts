// Several contexts (the load option contexts): a call's pairs are cut into parts that contexts of
// their own decode at once (native/decode_lanes.h). The scores must be those of one context within
// the batch-layout tolerance of the exact path, in every way of decoding; a reproducible request
// must still score to the bit alike whatever runs beside it; failures and aborts stay with their
// request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import type { LoadOptions, RerankRequest } from '../lib/types.js';
import { expectClose, scoresByIndex, tinyModel, withModel } from './helpers.js';

// The exact path (F32 model, F32 KV, flash attention off): only the batch layout differs. 64-token
// calls, so that a request of a few hundred tokens is cut into parts.
const exact = { flashAttention: 'off', kvType: 'f32', batchSize: 64 } as const;
const TOLERANCE = 1e-4;

const words = (seed: number, n: number) =>
  Array.from({ length: n }, (_, k) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'][(seed * 5 + k * 3) % 7]).join(' ');
// Pairs from a few tokens to longer than several 64-token calls.
const mixed: RerankRequest = { query: 'what is beta', documents: [5, 300, 40, 12, 120, 60, 61, 3, 90, 25].map((n, i) => words(i, n)) };
const others: RerankRequest[] = Array.from({ length: 5 }, (_, r) => ({
  query: `query ${r} ${'about things '.repeat(r)}`,
  documents: Array.from({ length: 3 + (r % 3) }, (_, d) => words(r + d, 4 + ((r * 7 + d * 13) % 40))),
}));

describe('several contexts decoding a call at once', () => {
  let one: Reranker;
  const want = new Map<RerankRequest, number[]>();
  beforeAll(async () => {
    one = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: true });
    for (const r of [mixed, ...others]) want.set(r, scoresByIndex(await one.rerank(r)));
  });
  afterAll(() => one.dispose());
  const wanted = (r: RerankRequest) => want.get(r) ?? [];

  it('scores as one context does: alone or packed, both kinds of GGUF, with KV streams, without a shared prefix', async () => {
    const ways: Array<Omit<LoadOptions, 'model'> & { model?: string }> = [
      { reproducible: true },
      { reproducible: false },
      { reproducible: false, model: tinyModel('causal') },
      { reproducible: true, sharePrefix: false },
      { reproducible: false, kvStreams: 4 },
    ];
    for (const way of ways) {
      await withModel({ ...exact, ...way, contexts: 2 }, async (r) => {
        expect(r.info.contexts).toBe(2);
        expectClose(scoresByIndex(await r.rerank(mixed)), wanted(mixed), TOLERANCE);
        const together = await Promise.all([mixed, ...others].map((q) => r.rerank(q)));
        together.forEach((res, i) => expectClose(scoresByIndex(res), wanted([mixed, ...others][i]), TOLERANCE));
      });
    }
  });

  it('cuts a call of more than one batch into parts, each decoding its request prefix, and leaves a small one whole', async () => {
    const computed = async (r: Reranker, q: RerankRequest) => {
      await r.rerank(q); // the instruction's head kept on every context first
      const before = r.stats;
      await r.rerank(q);
      return { tokens: r.stats.computedTokens - before.computedTokens, calls: r.stats.decodeCalls - before.decodeCalls };
    };
    await withModel({ ...exact, contexts: 2 }, async (two) => {
      const small = { query: 'what is beta', documents: ['alpha', 'beta'] };
      // the second part decodes the query again: more tokens than on one context
      expect((await computed(two, mixed)).tokens).toBeGreaterThan((await computed(one, mixed)).tokens);
      expect(await computed(two, small)).toEqual(await computed(one, small));
    });
    // Between one and two calls' worth (less than two even with the instruction's head, which the
    // contexts keep): two parts side by side, the second decoding the query again, not one full call
    // and a small one after it on the same context.
    const batch = { ...exact, batchSize: 128 };
    const middling = { query: 'what is beta', documents: [words(1, 64), words(2, 64)] };
    const alone = await withModel({ ...batch, contexts: 1 }, (r) => computed(r, middling));
    // a fresh load's first call decodes the head too: what the first version of the cut counted
    const withHead = await withModel({ ...batch, contexts: 1 }, async (r) => (await r.rerank(middling), r.stats.computedTokens));
    expect(alone.tokens).toBeGreaterThan(batch.batchSize);
    expect(withHead).toBeLessThan(2 * batch.batchSize);
    expect(alone.calls).toBe(2);
    const two = await withModel({ ...batch, contexts: 2 }, (r) => computed(r, middling));
    expect(two.tokens).toBeGreaterThan(alone.tokens);
  });

  it('keeps a reproducible request to the bit, alone or among others, from call to call', async () => {
    await withModel({ ...exact, contexts: 3, reproducible: true }, async (r) => {
      const alone = scoresByIndex(await r.rerank(mixed));
      for (let k = 0; k < 2; k++) {
        const together = await Promise.all([...others, mixed].map((q) => r.rerank(q)));
        expect(scoresByIndex(together[others.length])).toEqual(alone);
      }
    });
  });

  it('keeps a reproducible request to the bit with the defaults, whatever else its call holds', async () => {
    // Flash attention on (the CPU's default): ggml splits a one-token batch's cells over its threads,
    // so a context's thread count moves scores. A pair whose last token spills into a 64-token call
    // of its own, alone in its call and beside a request that is cut into parts.
    await withModel({ contexts: 2, threads: 2, reproducible: true, batchSize: 64 }, async (r) => {
      const big: RerankRequest = { query: 'what is beta', documents: Array.from({ length: 8 }, (_, i) => words(i, 60)) };
      for (const n of [269, 325]) {
        const small: RerankRequest = { query: 'q', documents: [words(1, n)] };
        const alone = scoresByIndex(await r.rerank(small));
        const [, , together] = await Promise.all([r.rerank(big), r.rerank(big), r.rerank(small)]);
        expect(scoresByIndex(together)).toEqual(alone);
      }
    });
  });

  it('keeps failures and aborts to their request, and the model usable', async () => {
    await withModel({ ...exact, contexts: 2, reproducible: false, maxLength: 128 }, async (r) => {
      const ctl = new AbortController();
      const pending = [
        r.rerank(mixed),
        r.rerank({ query: 'q', documents: ['ok', 'long '.repeat(400)], truncate: false }),
        r.rerank({ ...others[1], signal: ctl.signal }),
        r.rerank(others[2]),
      ];
      ctl.abort();
      const results = await Promise.allSettled(pending);
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'DOCUMENT_TOO_LONG', field: 'documents[1]' } });
      expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
      expect(results[0].status).toBe('fulfilled');
      expect(results[3].status).toBe('fulfilled');
      expectClose(scoresByIndex(await r.rerank(others[2])), wanted(others[2]), TOLERANCE);
    });
  });

  it('stops both contexts at dispose', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), contexts: 2 });
    // 8 documents of ~2,000 tokens: about 32 decode calls of 512 tokens if nothing stopped them
    const documents = Array.from({ length: 8 }, (_, i) => `${i} ${'word '.repeat(1900)}`);
    const running = r.rerank({ query: 'q', documents }).catch((e: unknown) => e);
    await r[Symbol.asyncDispose]();
    expect(await running).toMatchObject({ code: 'DISPOSED' });
    // stopped before its first decode call, or inside the ones already running (one per context)
    expect(r.stats.decodeCalls).toBeLessThanOrEqual(2);
  });

  it('reports the contexts and sizes their caches; one by default', async () => {
    await withModel({ contexts: 3 }, async (three) => {
      expect(one.info.contexts).toBe(1);
      await withModel({ ...exact }, async (single) => {
        await withModel({ ...exact, contexts: 3 }, async (r) => {
          expect(r.info.kvCacheBytes).toBe(3 * single.info.kvCacheBytes);
          expect(r.info.contextSize).toBe(single.info.contextSize);
        });
      });
      expect(three.info.contexts).toBe(3);
    });
  });

  it('refuses a contexts option that is not a whole number from 1 to 8', async () => {
    for (const contexts of [0, 9, 1.5, '2', null]) {
      const err = await Reranker.load({ model: tinyModel('rank'), contexts: contexts as number }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS', field: 'contexts' });
    }
  });
});
