// The response builder on its own: ordering, ties, top_n and usage from given scores.
import { describe, expect, it } from 'vitest';
import { buildResponse } from '../lib/response.js';
import { validateRequest } from '../lib/validate.js';

const scored = (scores: number[], pairTokens: number[]) => ({ scores, pairTokens });

describe('buildResponse', () => {
  it('orders by score, equal scores by index', () => {
    const req = validateRequest({ query: 'q', documents: ['a', 'b', 'c', 'd'] });
    const res = buildResponse(req, scored([0.5, 0.9, 0.5, 0.1], [10, 11, 12, 13]));
    expect(res.results.map((r) => r.index)).toEqual([1, 0, 2, 3]);
    expect(res.usage).toEqual({ prompt_tokens: 46, completion_tokens: 0, total_tokens: 46 });
  });

  it('cuts to top_n after ordering and counts usage for every pair', () => {
    const req = validateRequest({ query: 'q', documents: ['a', 'b', 'c'], top_n: 1, return_documents: true });
    const res = buildResponse(req, scored([0.2, 0.3, 0.1], [5, 5, 5]));
    expect(res.results).toEqual([{ index: 1, relevance_score: 0.3, document: { text: 'b' } }]);
    expect(res.usage.prompt_tokens).toBe(15);
  });
});
