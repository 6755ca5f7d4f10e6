// Where the framework integrations get their scores: a Reranker loaded in this process, or a
// `llama-rerank serve` over HTTP (its /v1/rerank). Both answer the same RerankResponse.
import type { RerankRequest, RerankResponse } from '../types.js';

/** A loaded Reranker, or anything with its rerank() (the integrations need nothing else). */
export interface InProcessReranker {
  rerank(request: RerankRequest): Promise<RerankResponse>;
}

export type RerankSource =
  | { reranker: InProcessReranker; url?: never }
  | {
      /** The server's base URL, e.g. http://127.0.0.1:8080 (its /v1/rerank is called). */
      url: string | URL;
      /** Sent as `Authorization: Bearer <apiKey>` (the server's LLAMA_RERANK_API_KEY). */
      apiKey?: string;
      reranker?: never;
    };

/** A failure the server answered with: its HTTP status and its error body's code, message and field. */
export class RerankServerError extends Error {
  override name = 'RerankServerError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** An adapter's `topN` option: a positive integer, else a TypeError at construction. */
export function topNOption(topN: unknown, fallback: number): number {
  if (topN === undefined) return fallback;
  if (typeof topN !== 'number' || !Number.isInteger(topN) || topN < 1) throw new TypeError(`topN: must be a positive integer (got ${String(topN)})`);
  return topN;
}

export type RerankCall = (request: Omit<RerankRequest, 'signal'>, signal?: AbortSignal) => Promise<RerankResponse>;

export function rerankCall(source: RerankSource): RerankCall {
  if (source.reranker) {
    const reranker = source.reranker;
    return (request, signal) => reranker.rerank(signal ? { ...request, signal } : request);
  }
  if (source.url === undefined) throw new TypeError('pass either `reranker` (a loaded Reranker) or `url` (a llama-rerank server)');
  // The server's base URL, a path prefix kept (a proxy's), and its query too (a proxy's token).
  const base = new URL(String(source.url));
  base.pathname = base.pathname.replace(/\/?$/, '/');
  const endpoint = new URL('v1/rerank', base);
  endpoint.search = base.search;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (source.apiKey) headers.authorization = `Bearer ${source.apiKey}`;
  return async (request, signal) => {
    const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(request), signal });
    const body = (await res.json().catch(() => undefined)) as (RerankResponse & { error?: never }) | { error?: Record<string, string | null> } | undefined;
    if (res.ok && body && 'results' in body) return body;
    const error = body?.error ?? {};
    throw new RerankServerError(res.status, error.code ?? 'HTTP_ERROR', error.message ?? `${endpoint} answered ${res.status}`, error.param ?? null);
  };
}
