// From native scores to the hosted API's response shape.
import type { ScheduledResult } from './scheduler.js';
import type { RerankResponse, RerankResult } from './types.js';
import type { ValidRequest } from './validate.js';

export function buildResponse(request: ValidRequest, scored: Pick<ScheduledResult, 'scores' | 'pairTokens'>): RerankResponse {
  const results: RerankResult[] = request.documents.map((text, index) => ({
    index,
    relevance_score: scored.scores[index],
    ...(request.returnDocuments ? { document: { text } } : {}),
  }));
  // Most relevant first; equal scores keep the request's order.
  results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const promptTokens = scored.pairTokens.reduce((sum, n) => sum + n, 0);
  return {
    results: request.topN === undefined ? results : results.slice(0, request.topN),
    usage: { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
  };
}
