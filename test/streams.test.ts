// KV streams (the load option kvStreams): a stream per pair, so each pair's tokens attend over its
// own cells only. The scores must be those of the shared cache within the batch-layout tolerance of
// the exact path, for every shape of work: pairs of any length (longer than a decode call, shorter
// than its padding), concurrent requests packed or alone, a request cancelled among others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker, RerankError } from '../lib/index.js';
import { defaultBatchSize } from '../lib/load-native.js';
import type { RerankRequest } from '../lib/types.js';
import { exampleRequest, headTokens, measured, scoresByIndex, tinyModel } from './helpers.js';

// The exact path (F32 model, F32 KV, flash attention off): only the batch layout differs.
const exact = { flashAttention: 'off', kvType: 'f32' } as const;
const TOLERANCE = 1e-4;

const words = (seed: number, n: number) =>
  Array.from({ length: n }, (_, k) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'][(seed * 5 + k * 3) % 7]).join(' ');
// Pairs from a few tokens to longer than several 64-token calls, in no order.
const mixed: RerankRequest = { query: 'what is beta', documents: [5, 300, 40, 900, 12, 120, 60, 61, 3].map((n, i) => words(i, n)) };
const requests: RerankRequest[] = Array.from({ length: 8 }, (_, r) => ({
  // half share one query (a stream reuses one request's prefix cells for another's), half differ
  query: r % 2 === 0 ? 'the same query' : `query ${r} ${'about things '.repeat(r)}`,
  documents: Array.from({ length: 3 + (r % 3) }, (_, d) => words(r + d, 4 + ((r * 7 + d * 13) % 40))),
}));

function expectClose(got: number[], want: number[]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((s, i) => expect(Math.abs(s - want[i])).toBeLessThan(TOLERANCE));
}

describe('KV streams', () => {
  let shared: Reranker;
  const want = new Map<RerankRequest, number[]>();
  beforeAll(async () => {
    shared = await Reranker.load({ model: tinyModel('rank'), ...exact });
    for (const r of [exampleRequest(), mixed, ...requests]) want.set(r, scoresByIndex(await shared.rerank(r)));
  });
  afterAll(() => shared.dispose());
  const wanted = (r: RerankRequest) => want.get(r) ?? [];

  it('scores as the shared cache does, at any batch size, with the prefix shared or not, for both kinds of GGUF', async () => {
    const example = [...want.keys()][0];
    for (const options of [{}, { batchSize: 64 }, { batchSize: 2048 }, { sharePrefix: false }]) {
      const r = await Reranker.load({ model: tinyModel('rank'), ...exact, ...options, kvStreams: 4 });
      try {
        expect(r.info.kvStreams).toBe(4);
        const res = await r.rerank(example);
        expectClose(scoresByIndex(res), wanted(example));
        expect(res.usage.prompt_tokens).toBe(632); // the hosted API's count: streams change how, not what
        expectClose(scoresByIndex(await r.rerank(mixed)), wanted(mixed));
      } finally {
        r.dispose();
      }
    }
    // the causal kind reads logits by batch index, the rank kind captured hidden rows in graph order
    const causal = await Reranker.load({ model: tinyModel('causal'), ...exact, kvStreams: 4, batchSize: 64 });
    try {
      expectClose(scoresByIndex(await causal.rerank(mixed)), wanted(mixed));
    } finally {
      causal.dispose();
    }
  });

  it('packs concurrent requests into waves, each getting its own scores', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 8, reproducible: false });
    try {
      expect(r.info.pack).toBe(true);
      const together = await Promise.all(requests.map((q) => r.rerank(q)));
      together.forEach((res, i) => expectClose(scoresByIndex(res), wanted(requests[i])));
    } finally {
      r.dispose();
    }
  });

  it('reproducible: a request gets the same scores to the last bit alone and among concurrent ones', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), kvStreams: 8, reproducible: true });
    try {
      const alone = scoresByIndex(await r.rerank(mixed));
      const together = await Promise.all([...requests, mixed, ...requests].map((q) => r.rerank(q)));
      expect(scoresByIndex(together[requests.length])).toEqual(alone);
    } finally {
      r.dispose();
    }
  });

  it('the streams keep the instruction head from one request to the next, decoded for the streams a request uses', async () => {
    const like = (query: string, n: number) => ({ query, documents: Array.from({ length: n }, () => words(1, 20)) });
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 16 });
    try {
      const head = await headTokens(r);
      expect(head).toBeGreaterThan(10);
      // Like pairs, one a stream, so no padding. A fresh model decodes the head on the first group
      // of four streams only: four pairs compute their tokens, the head once each.
      let run = await measured(r, like('which letter comes first', 4));
      expect(run.computed).toBe(run.prompt);
      // kept: each pair computes its tokens but for the head
      const second = like('which letter is the last one of all', 4);
      run = await measured(r, second);
      expect(run.computed).toBe(run.prompt - 4 * head);
      expectClose(run.scores, scoresByIndex(await shared.rerank(second)));
      // six pairs: the second group's four streams get the head too
      run = await measured(r, like('which letter is in the middle', 6));
      expect(run.computed).toBe(run.prompt - 6 * head + 4 * head);
    } finally {
      r.dispose();
    }
  });

  it('reproducible: a request scores to the last bit alike whether its head was kept, decoded again, or decoded first', async () => {
    const other = { ...mixed, instruction: 'Find the passages about letters' };
    // 8 streams, two groups: requests[0] (3 documents) has the head decoded on the first only, and
    // mixed (9) then on the second too
    const load = () => Reranker.load({ model: tinyModel('rank'), kvStreams: 8, reproducible: true });
    const fresh = await load();
    const r = await load();
    try {
      const first = scoresByIndex(await fresh.rerank(mixed)); // its head decoded just before it
      await r.rerank(requests[0]);
      const kept = scoresByIndex(await r.rerank(mixed));
      await r.rerank(other); // another instruction's head takes its place
      const again = scoresByIndex(await r.rerank(mixed));
      expect(kept).toEqual(first);
      expect(again).toEqual(first);
    } finally {
      fresh.dispose();
      r.dispose();
    }
  });

  it('packed requests of other instructions beside the kept head, and the requests after them, score right', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 4, batchSize: 64, reproducible: false });
    const want2 = { ...requests[1], instruction: 'Find the passages about letters' };
    try {
      await r.rerank(requests[0]);
      const [a, b, c] = await Promise.all([r.rerank(mixed), r.rerank(want2), r.rerank(requests[2])]);
      expectClose(scoresByIndex(a), wanted(mixed));
      expectClose(scoresByIndex(b), scoresByIndex(await shared.rerank(want2)));
      expectClose(scoresByIndex(c), wanted(requests[2]));
      expectClose(scoresByIndex(await r.rerank(mixed)), wanted(mixed));
    } finally {
      r.dispose();
    }
  });

  it('decodes several pairs per call, and a long pair over several calls', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 8, batchSize: 512 });
    try {
      const many = { query: 'q', documents: Array.from({ length: 32 }, (_, i) => words(i, 30)) };
      let before = r.stats;
      await r.rerank(many);
      expect(r.stats.decodeCalls - before.decodeCalls).toBeLessThanOrEqual(32 / 4);
      before = r.stats;
      const long = { query: 'q', documents: [words(1, 1500)] };
      await r.rerank(long);
      expect(r.stats.decodeCalls - before.decodeCalls).toBeGreaterThan(1);
      expectClose(scoresByIndex(await r.rerank(long)), scoresByIndex(await shared.rerank(long)));
    } finally {
      r.dispose();
    }
  });

  it("a stream's next pair is one that reuses the prefix it holds: each request's prefix decoded once a stream", async () => {
    // Two requests with long queries of one length and short documents, so that the longest-first
    // order mixes them: B's longest, A's longest, A's short, B's short. The second wave must put B's
    // short pair on the stream that decoded B's prefix, A's on A's, reusing the whole prefix each.
    const query = (w: string[]) => Array.from({ length: 60 }, (_, i) => w[i % w.length]).join(' ');
    const a = { query: query(['alpha', 'beta', 'gamma']), documents: [words(1, 10), words(2, 3)] };
    const b = { query: query(['gamma', 'alpha', 'beta']), documents: [words(3, 12), words(4, 2)] };
    // what its pairs share, as the shared cache decodes it on a fresh model (whose first request
    // decodes the instruction head too: no head kept from an earlier one)
    const prefix = async (q: RerankRequest) => {
      const fresh = await Reranker.load({ model: tinyModel('rank'), ...exact });
      try {
        const res = await fresh.rerank(q);
        return { prompt: res.usage.prompt_tokens, shared: res.usage.prompt_tokens - fresh.stats.computedTokens };
      } finally {
        fresh.dispose();
      }
    };
    const [pa, pb] = [await prefix(a), await prefix(b)];
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 2, reproducible: false });
    try {
      const head = await headTokens(r);
      // Two requests ahead take both native calls in flight, so that a and b queue up and share the
      // next; each of those two is alone in its call, so its tokens are what it computes alone (the
      // streams' instruction head decoded first, as it is then).
      await r.rerank(requests[0]);
      const alone = async (q: RerankRequest) => (await measured(r, q)).computed;
      const aheadTokens = (await alone(requests[0])) + (await alone(requests[1]));
      const before = r.stats.computedTokens;
      const ahead = [r.rerank(requests[0]), r.rerank(requests[1])];
      const [ra, rb] = await Promise.all([r.rerank(a), r.rerank(b)]);
      await Promise.all(ahead);
      expectClose(scoresByIndex(ra), scoresByIndex(await shared.rerank(a)));
      expectClose(scoresByIndex(rb), scoresByIndex(await shared.rerank(b)));
      const computed = r.stats.computedTokens - before - aheadTokens;
      // every token once but the kept head for each first pair and each request's prefix for its
      // second; the rest is the padding of pairs shorter than their wave's longest (a few tokens:
      // the documents differ by words)
      expect(computed).toBeLessThanOrEqual(pa.prompt + pb.prompt - pa.shared - pb.shared - 2 * head + 24);
    } finally {
      r.dispose();
    }
  });

  it('scores right with one stream, and packed requests that share no prefix', async () => {
    for (const options of [{ kvStreams: 1 }, { kvStreams: 4, sharePrefix: false }]) {
      const r = await Reranker.load({ model: tinyModel('rank'), ...exact, ...options, batchSize: 64, reproducible: false });
      try {
        const together = await Promise.all([mixed, ...requests].map((q) => r.rerank(q)));
        expectClose(scoresByIndex(together[0]), wanted(mixed));
        together.slice(1).forEach((res, i) => expectClose(scoresByIndex(res), wanted(requests[i])));
      } finally {
        r.dispose();
      }
    }
  });

  it('a cancelled request leaves its streams; the others and later requests are scored right', async () => {
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 4, batchSize: 64, reproducible: false });
    try {
      const controller = new AbortController();
      const doomed = r.rerank({ ...mixed, signal: controller.signal });
      const others = requests.map((q) => r.rerank(q));
      setTimeout(() => controller.abort(), 5);
      await expect(doomed).rejects.toMatchObject({ code: 'ABORTED' });
      (await Promise.all(others)).forEach((res, i) => expectClose(scoresByIndex(res), wanted(requests[i])));
      expectClose(scoresByIndex(await r.rerank(mixed)), wanted(mixed));
    } finally {
      r.dispose();
    }
  });

  it('refuses a count that is not a whole number from 0 to 256, naming the option', async () => {
    for (const kvStreams of [-1, 1.5, 257, '4', null]) {
      const err = await Reranker.load({ model: tinyModel('rank'), kvStreams: kvStreams as number }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RerankError);
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS', field: 'kvStreams' });
    }
  });

  it("decodes in calls of 256 tokens a stream by default on a GPU, from 2048 to 8192; the CPU's stay 512", async () => {
    // (a GPU backend's load checks it too: test/backends.test.ts, on Vulkan)
    expect([0, 4, 8, 12, 16, 32, 64].map((n) => defaultBatchSize(true, n))).toEqual([2048, 2048, 2048, 3072, 4096, 8192, 8192]);
    expect([0, 16].map((n) => defaultBatchSize(false, n))).toEqual([512, 512]);
    const r = await Reranker.load({ model: tinyModel('rank'), ...exact, kvStreams: 16 });
    try {
      expect(r.info).toMatchObject({ kvStreams: 16, batchSize: 512 });
    } finally {
      r.dispose();
    }
  });
});
