// reuseGraphs (native/call_shape.h): the full decode calls of a large request keep one shape, so
// llama.cpp reuses the compute graph of the call before (what ggml-cuda needs to replay a CUDA graph).
// Its scores must be those without it, within the batch-layout tolerance of the exact path (its
// pairs sit in other cells and calls); every full call after the first two must reuse the graph.
// Reused graphs are counted by stats.graphsReused, from llama.cpp's own count.
import { describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import type { LoadOptions, RerankRequest } from '../lib/types.js';
import { scoresByIndex, tinyModel } from './helpers.js';

// The exact path (F32 KV, flash attention off): only the batch layout differs. The CPU's 512-token
// calls, one graph each (its micro-batch is the batch).
const exact = { flashAttention: 'off', kvType: 'f32', batchSize: 512 } as const;
const TOLERANCE = 1e-4;

const words = (seed: number, n: number) =>
  Array.from({ length: n }, (_, k) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'][(seed * 5 + k * 3) % 7]).join(' ');
// 32 documents (one slice of the scheduler's) of 55 to 80 words: some 2,700 tokens in 7 calls.
// test/native/selftest.cpp checks the mechanism closer: the counts on two contexts, and a layout where
// the calls would reuse fewer graphs without the sentinel (it fails when the sentinel is left out).
const large: RerankRequest = { query: 'what is beta', documents: Array.from({ length: 32 }, (_, i) => words(i, 55 + ((i * 7) % 26))) };
const others: RerankRequest[] = Array.from({ length: 3 }, (_, r) => ({
  query: `query ${r}`,
  documents: Array.from({ length: 24 }, (_, d) => words(r + d, 40 + ((r * 7 + d * 13) % 40))),
}));

type Options = Omit<LoadOptions, 'model'> & { model?: string };

async function run(options: Options, requests: RerankRequest[]) {
  const r = await Reranker.load({ model: tinyModel('rank'), ...exact, ...options });
  try {
    const before = r.stats;
    const scores = (await Promise.all(requests.map((q) => r.rerank(q)))).map(scoresByIndex);
    return { scores, calls: r.stats.decodeCalls - before.decodeCalls, reused: r.stats.graphsReused - before.graphsReused, inEffect: r.info.reuseGraphs };
  } finally {
    r.dispose();
  }
}

function expectClose(got: number[][], want: number[][]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((scores, r) => {
    expect(scores).toHaveLength(want[r].length);
    scores.forEach((s, i) => expect(Math.abs(s - want[r][i])).toBeLessThan(TOLERANCE));
  });
}

describe('reuseGraphs: large requests decoded in calls of one shape', () => {
  it('scores as without it, with the graph of every full call after the first two reused: alone, packed, both kinds of GGUF, two contexts', async () => {
    const ways: Options[] = [
      { reproducible: true },
      { reproducible: false, model: tinyModel('causal') },
      { reproducible: false, contexts: 2 },
    ];
    for (const way of ways) {
      const requests = way.reproducible ? [large] : [large, ...others];
      const without = await run(way, requests);
      const withIt = await run({ ...way, reuseGraphs: true }, requests);
      expect(withIt.inEffect).toBe(true);
      expectClose(withIt.scores, without.scores);
      if (way.reproducible) {
        // One request in one native call, on one context: the head's call (alone, first), the first
        // call and the one after it, and the last have shapes of their own; every other is reused.
        expect(withIt.calls).toBeGreaterThanOrEqual(6);
        expect(withIt.reused).toBe(withIt.calls - 4);
      } else {
        // Several native calls (the scheduler's), each with such calls of its own on each context,
        // some too short to be held still (test/native/selftest.cpp counts them on two contexts).
        expect(withIt.reused).toBeGreaterThanOrEqual(1);
      }
      // Without it, a call reuses the graph only when the one before happened to have its shape.
      expect(without.reused).toBeLessThan(withIt.reused);
    }
  });

  it('leaves alone what it cannot hold still: KV streams, pairs and prefixes over a quarter of a call, a request of one call', async () => {
    expect((await run({ reuseGraphs: true, kvStreams: 4 }, [])).inEffect).toBe(false);
    // 150-word documents: pairs of more than a quarter of 512 tokens, so later calls would be too short
    const long: RerankRequest = { query: 'what is beta', documents: Array.from({ length: 12 }, (_, i) => words(i, 150)) };
    const small: RerankRequest = { query: 'what is beta', documents: [words(1, 5), words(2, 6)] };
    for (const request of [long, small]) {
      const without = await run({ reproducible: true }, [request]);
      const withIt = await run({ reproducible: true, reuseGraphs: true }, [request]);
      expect(withIt.calls).toBe(without.calls);
      expect(withIt.scores).toEqual(without.scores);
    }
  });

  it('refuses a value that is not a boolean, with a typed error', async () => {
    await expect(Reranker.load({ model: tinyModel('rank'), reuseGraphs: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field: 'reuseGraphs',
    });
  });
});
