// Queueing: large requests are sliced, small ones are not starved, concurrency changes no score.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { slicePairs } from '../lib/scheduler.js';

const SLICE_PAIRS = slicePairs(512); // the CPU's default batch
import { scoresByIndex, tinyModel } from './helpers.js';

const docs = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `document ${i}${tag}: ${'lorem ipsum '.repeat(i % 7)}`);

describe('scheduler', () => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
  });
  afterAll(() => reranker.dispose());

  it('a request of several slices gives the scores its pairs get alone', async () => {
    const documents = docs(SLICE_PAIRS * 2 + 5);
    const whole = scoresByIndex(await reranker.rerank({ query: 'q', documents }));
    expect(whole).toHaveLength(documents.length);
    for (const i of [0, SLICE_PAIRS - 1, SLICE_PAIRS, documents.length - 1]) {
      const alone = (await reranker.rerank({ query: 'q', documents: [documents[i]] })).results[0].relevance_score;
      expect(Math.abs(alone - whole[i])).toBeLessThan(1e-4);
    }
  });

  it('a small request is not starved behind a large one', async () => {
    const order: string[] = [];
    const large = reranker.rerank({ query: 'q', documents: docs(SLICE_PAIRS * 6) }).then(() => order.push('large'));
    const small = reranker.rerank({ query: 'q', documents: docs(2) }).then(() => order.push('small'));
    await Promise.all([large, small]);
    expect(order).toEqual(['small', 'large']);
  });

  it('names the right document when a later slice fails', async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), maxLength: 128 });
    try {
      const documents = docs(SLICE_PAIRS + 10);
      documents[SLICE_PAIRS + 3] = 'long '.repeat(400);
      const err = await short.rerank({ query: 'q', documents, truncate: false }).catch((e) => e);
      expect(err.code).toBe('DOCUMENT_TOO_LONG');
      expect(err.field).toBe(`documents[${SLICE_PAIRS + 3}]`);
      expect(err.message).toMatch(new RegExp(`^document ${SLICE_PAIRS + 3} `));
    } finally {
      short.dispose();
    }
  });

  it('1,000 concurrent calls all resolve, with the scores they get one by one', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => ({ query: `query ${i % 10}`, documents: docs(1 + (i % 3), `-${i % 10}`) }));
    const alone = new Map<string, number[]>();
    for (const r of requests.slice(0, 30)) alone.set(JSON.stringify(r), scoresByIndex(await reranker.rerank(r)));
    const all = await Promise.all(requests.map((r) => reranker.rerank(r)));
    all.forEach((res, i) => {
      const want = alone.get(JSON.stringify(requests[i]));
      expect(want).toBeDefined();
      expect(scoresByIndex(res)).toEqual(want);
    });
  });
});
