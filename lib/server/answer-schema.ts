// The JSON schemas of the server's answers, for GET /openapi.json; the tests check real answers
// against them, so the description stays true.

/** One result of a rerank answer; /v1/rerank's may carry the document, Cohere's v2 never does. */
export function rerankResultSchema({ document }: { document: boolean }) {
  return {
    type: 'object',
    required: ['index', 'relevance_score'],
    additionalProperties: false,
    properties: {
      index: { type: 'integer', minimum: 0 },
      relevance_score: { type: 'number', minimum: 0, maximum: 1 },
      ...(document ? { document: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } } : {}),
    },
  } as const;
}

export const rerankResponseSchema = {
  type: 'object',
  required: ['results', 'usage'],
  additionalProperties: false,
  properties: {
    results: { type: 'array', items: rerankResultSchema({ document: true }) },
    usage: {
      type: 'object',
      required: ['prompt_tokens', 'completion_tokens', 'total_tokens'],
      properties: { prompt_tokens: { type: 'integer' }, completion_tokens: { const: 0 }, total_tokens: { type: 'integer' } },
    },
  },
} as const;

export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'code', 'param'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, code: { type: 'string' }, param: { type: ['string', 'null'] } },
    },
  },
} as const;
