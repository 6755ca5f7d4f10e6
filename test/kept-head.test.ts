// The instruction head kept in the KV cache from one call to the next (native/pair_decoder.h): the
// system line and "<Instruct>: …\n<Query>:" are decoded once per instruction, not once per request,
// and a request's scores do not depend on whether its head was decoded for it or long before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTION, Reranker, type RerankRequest } from '../lib/index.js';
import { exampleRequest, headTokens, measured, scoresByIndex, tinyModel } from './helpers.js';

// The exact path (F32 KV, flash attention off): scores differ only by the batch layout's rounding.
const exact = { flashAttention: 'off', kvType: 'f32' } as const;
const OTHER_INSTRUCTION = 'Given a question about source code, find the passages that answer it';

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

describe.each(['rank', 'causal'] as const)('the kept instruction head, %s kind', (kind) => {
  let r: Reranker;
  let plain: Reranker;  // every pair decoded whole: no prefix shared, no head kept
  beforeAll(async () => {
    r = await Reranker.load({ model: tinyModel(kind), ...exact });
    plain = await Reranker.load({ model: tinyModel(kind), ...exact, sharePrefix: false });
  });
  afterAll(() => {
    r.dispose();
    plain.dispose();
  });

  it('is decoded once for the requests of its instruction, which then score to the bit as the first did', async () => {
    const req = exampleRequest();
    const head = await headTokens(r, req.instruction ?? DEFAULT_INSTRUCTION);
    const first = await measured(r, req);
    const second = await measured(r, req);
    expect(first.computed - second.computed).toBe(head);
    expect(first.calls - second.calls).toBe(1);  // the head, alone in a call of its own
    expect(second.scores).toEqual(first.scores);
    expect(maxDiff(first.scores, scoresByIndex(await plain.rerank(req)))).toBeLessThan(1e-4);

    // another instruction's request takes the head's place; the first instruction's comes back as it was
    const other = { ...req, instruction: OTHER_INSTRUCTION };
    const otherRun = await measured(r, other);
    expect(otherRun.computed).toBeGreaterThan((await measured(r, other)).computed);
    expect(maxDiff(otherRun.scores, scoresByIndex(await plain.rerank(other)))).toBeLessThan(1e-4);
    const again = await measured(r, req);
    expect(again.computed).toBe(first.computed);
    expect(again.scores).toEqual(first.scores);
  });

  it('serves a one-document request too: it computes all but the head', async () => {
    const req = { query: 'What is the capital of France?', documents: ['Paris is the capital and largest city of France.'] };
    await r.rerank(req);
    const run = await measured(r, req);
    expect(run.computed).toBe(run.prompt - (await headTokens(r, DEFAULT_INSTRUCTION)));
    expect(maxDiff(run.scores, scoresByIndex(await plain.rerank(req)))).toBeLessThan(1e-4);
  });
});

describe('the kept head among packed requests, and requests that keep none', () => {
  it('concurrent requests of three instructions, packed, score as each does alone without a head', async () => {
    const packed = await Reranker.load({ model: tinyModel('rank'), ...exact, reproducible: false });
    const plain = await Reranker.load({ model: tinyModel('rank'), ...exact, sharePrefix: false });
    try {
      const instructions = [undefined, OTHER_INSTRUCTION, 'Find the passage that contradicts the claim'];
      const requests: RerankRequest[] = Array.from({ length: 12 }, (_, i) => ({
        query: `question ${i} ${'about rivers '.repeat(i % 3)}`,
        documents: Array.from({ length: 1 + (i % 3) }, (_, d) => `passage ${d} of ${i}: ${'water flows downhill '.repeat(1 + d)}`),
        instruction: instructions[i % 3],
      }));
      const alone: number[][] = [];
      for (const q of requests) alone.push(scoresByIndex(await plain.rerank(q)));
      for (let round = 0; round < 2; round++) {
        const together = await Promise.all(requests.map((q) => packed.rerank(q)));
        together.forEach((res, i) => expect(maxDiff(scoresByIndex(res), alone[i])).toBeLessThan(1e-4));
      }
    } finally {
      packed.dispose();
      plain.dispose();
    }
  });

  it('a request that keeps no head scores to the bit as on a fresh model, whatever head an earlier request kept', async () => {
    const options = { model: tinyModel('rank'), ...exact, maxLength: 736, batchSize: 32 };
    const long = {
      query: 'which river is longest',
      instruction: `Rank the passages ${'by how well they answer the question '.repeat(40)}`,
      documents: ['the Nile is long '.repeat(200), 'the Amazon carries the most water'],
    };
    const fresh = await Reranker.load(options);
    const r = await Reranker.load(options);
    const plain = await Reranker.load({ ...options, sharePrefix: false });
    try {
      expect(await headTokens(r, long.instruction)).toBeGreaterThan(256);  // over the head room: never kept
      const alone = scoresByIndex(await fresh.rerank(long));
      expect(maxDiff(alone, scoresByIndex(await plain.rerank(long)))).toBeLessThan(1e-4);
      const short = { query: 'rivers', documents: ['water flows downhill', 'the sea is salty'] };
      const shortFirst = await measured(r, short);  // keeps the default instruction's head
      expect(scoresByIndex(await r.rerank(long))).toEqual(alone);
      // the long request emptied the cache, so the short one decodes its head again, to the same scores
      const shortAgain = await measured(r, short);
      expect(shortAgain.computed).toBe(shortFirst.computed);
      expect(shortAgain.scores).toEqual(shortFirst.scores);
      await r.rerank({ ...short, instruction: OTHER_INSTRUCTION });
      expect(scoresByIndex(await r.rerank(long))).toEqual(alone);
      // with sharePrefix off nothing is shared, within a request or across requests, and the head's
      // 256 cells (README "How it scores") are not reserved
      for (let i = 0; i < 2; i++) {
        const run = await measured(plain, short);
        expect(run.computed).toBe(run.prompt);
      }
      expect(r.info.contextSize - plain.info.contextSize).toBe(256);
      expect(plain.info.kvCacheBytes).toBeLessThan(r.info.kvCacheBytes);
    } finally {
      fresh.dispose();
      r.dispose();
      plain.dispose();
    }
  });
});
