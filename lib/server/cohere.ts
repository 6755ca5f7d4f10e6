// POST /v2/rerank: Cohere's v2 rerank API, so its official client (`CohereClientV2` with its base
// URL set) and code written for it work unchanged. Its request, answer and error shapes differ from
// /v1/rerank's; the scoring is the same path (request → validation → scheduler → native).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RerankAbortError } from '../errors.js';
import type { RerankRequest, RerankResponse } from '../types.js';
import { rerankResultSchema } from './answer-schema.js';
import { ErrorShape, errorHandler } from './error-replies.js';
import { notFoundHandler } from './methods.js';
import { orNull } from './schema.js';

/** Cohere's routes live under this prefix, in a scope whose every answer has Cohere's shapes. */
const COHERE_PREFIX = '/v2';
export const COHERE_RERANK_ROUTE = `${COHERE_PREFIX}/rerank`;

/** Cohere's default for max_tokens_per_doc. */
export const DEFAULT_MAX_TOKENS_PER_DOC = 4096;

/** Cohere bills one search unit per query with up to 100 documents. */
const DOCUMENTS_PER_SEARCH_UNIT = 100;

export function cohereRerankBodySchema(maxDocuments: number) {
  return {
    type: 'object',
    required: ['model', 'query', 'documents'],
    // As on /v1/rerank: a field we do not know is refused, never silently ignored.
    additionalProperties: false,
    properties: {
      // Any value: the server serves the one model it was started with.
      model: { type: 'string' },
      query: { type: 'string', minLength: 1 },
      documents: { type: 'array', minItems: 1, maxItems: maxDocuments, items: { type: 'string' } },
      top_n: orNull({ type: 'integer', minimum: 1 }),
      max_tokens_per_doc: orNull({ type: 'integer', minimum: 1 }),
      // Cohere's scheduling hint; one server queues fairly instead (see the README).
      priority: orNull({ type: 'integer', minimum: 0 }),
    },
  } as const;
}

export interface CohereRerankBody {
  model: string;
  query: string;
  documents: string[];
  top_n?: number;
  max_tokens_per_doc?: number;
  priority?: number;
}

export interface CohereRerankResponse {
  id: string;
  results: { index: number; relevance_score: number }[];
  meta: {
    api_version: { version: '2' };
    billed_units: { search_units: number };
    tokens: { input_tokens: number };
  };
}

/** The answer's schema, for GET /openapi.json (the tests check answers against it). */
export const cohereRerankResponseSchema = {
  type: 'object',
  required: ['id', 'results', 'meta'],
  properties: {
    id: { type: 'string' },
    results: { type: 'array', items: rerankResultSchema({ document: false }) },
    meta: {
      type: 'object',
      properties: {
        api_version: { type: 'object', properties: { version: { type: 'string' } } },
        billed_units: { type: 'object', properties: { search_units: { type: 'integer' } } },
        tokens: { type: 'object', properties: { input_tokens: { type: 'integer' } } },
      },
    },
  },
} as const;

/** Cohere's error body. */
export const cohereErrorSchema = {
  type: 'object',
  required: ['id', 'message'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, message: { type: 'string' } },
} as const;

export function toCohereResponse(id: string, response: RerankResponse, documents: number): CohereRerankResponse {
  return {
    id,
    results: response.results.map(({ index, relevance_score }) => ({ index, relevance_score })),
    meta: {
      api_version: { version: '2' },
      billed_units: { search_units: Math.max(1, Math.ceil(documents / DOCUMENTS_PER_SEARCH_UNIT)) },
      tokens: { input_tokens: response.usage.prompt_tokens },
    },
  };
}

/** The text of a document's first `maxTokens` tokens: Reranker.truncate, given up when `signal` aborts. */
export type Truncator = (text: string, maxTokens: number, signal?: AbortSignal) => Promise<string>;

/**
 * Documents of one request handed to the reranker at once: its line of cuts (every model's in the
 * process, lib/reranker.ts) then holds two of each request, so requests take turns.
 */
const CUTTING_AT_ONCE = 2;

/**
 * Each document cut to `maxTokens` tokens (max_tokens_per_doc), in order. When `signal` aborts (the
 * client left), no more documents are taken up and those waiting their turn leave the line.
 */
export async function truncateDocuments(truncate: Truncator, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<string[]> {
  const out = new Array<string>(documents.length);
  let next = 0;
  const cutter = async () => {
    while (next < documents.length) {
      if (signal?.aborted) throw new RerankAbortError(signal.reason);
      const i = next++;
      out[i] = await truncate(documents[i], maxTokens, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CUTTING_AT_ONCE, documents.length) }, cutter));
  return out;
}

export interface CohereRouteOptions {
  maxDocuments: number;
  /** Aborts when the client of `reply` leaves. */
  clientGone(reply: FastifyReply): AbortSignal;
  /** The server's one scoring path (abort on `signal`, metrics). */
  score(reply: FastifyReply, body: RerankRequest, signal: AbortSignal): Promise<RerankResponse>;
  truncate: Truncator;
}

/** Cohere's error answer: `{ id, message }`, and 400 for an invalid body where /v1/rerank says 422. */
const cohereShape: ErrorShape = (request, status, body) => [status === 422 ? 400 : status, { id: request.id, message: body.error.message }];

/** Registers POST /v2/rerank in a scope of its own, whose errors take Cohere's shape `{ id, message }`. */
export function registerCohereRoutes(app: FastifyInstance, options: CohereRouteOptions): void {
  void app.register(async (scope) => {
    // A wrong method or an unknown path under /v2 answers in Cohere's shape too.
    scope.setNotFoundHandler(notFoundHandler(scope, cohereShape));
    scope.setErrorHandler(errorHandler(cohereShape));
    scope.post(COHERE_RERANK_ROUTE.slice(COHERE_PREFIX.length), { schema: { body: cohereRerankBodySchema(options.maxDocuments) } }, async (request, reply) => {
      const body = request.body as CohereRerankBody;
      const maxTokens = body.max_tokens_per_doc ?? DEFAULT_MAX_TOKENS_PER_DOC;
      // Watched from the start: a client that leaves while its documents are cut leaves only the ones being cut behind.
      const signal = options.clientGone(reply);
      const documents = await truncateDocuments(options.truncate, body.documents, maxTokens, signal);
      const response = await options.score(reply, { query: body.query, documents, top_n: body.top_n }, signal);
      return toCohereResponse(request.id, response, documents.length);
    });
  }, { prefix: COHERE_PREFIX });
}
