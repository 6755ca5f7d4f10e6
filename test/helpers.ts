// Shared by the tests: the generated models and the hosted API's example.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { DEFAULT_INSTRUCTION, Reranker } from '../lib/index.js';
import { ModelKind, RERANK_TEMPLATE, ensureTestModel } from '../test-models/generate.js';
import type { LoadOptions, RerankRequest, RerankResponse } from '../lib/types.js';

export const SEED = 1;

/** The tiny F32 test model of a kind (generated on first use). */
export function tinyModel(kind: ModelKind, seed = SEED): string {
  return ensureTestModel({ shape: 'tiny', kind, seed });
}

/** The hosted API's documented request and its answer with the real Qwen3-Reranker-0.6B. */
export const hostedExample = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'hosted-api-example.json'), 'utf8'),
) as { request: RerankRequest & { model: string; top_n: number }; response: RerankResponse };

export const exampleRequest = (): RerankRequest => structuredClone(hostedExample.request);

export function scoresByIndex(r: RerankResponse): number[] {
  const out: number[] = [];
  for (const x of r.results) out[x.index] = x.relevance_score;
  return out;
}

/** Each score within `tolerance` of the one wanted. */
export function expectClose(got: number[], want: number[], tolerance: number): void {
  expect(got).toHaveLength(want.length);
  got.forEach((s, i) => expect(Math.abs(s - want[i])).toBeLessThan(tolerance));
}

/** Runs `fn` on a Reranker of the tiny rank model (or `model`) loaded with `options`, then frees it. */
export async function withModel<T>(options: Omit<LoadOptions, 'model'> & { model?: string }, fn: (r: Reranker) => Promise<T>): Promise<T> {
  const r = await Reranker.load({ model: tinyModel('rank'), ...options });
  try {
    return await fn(r);
  } finally {
    r.dispose();
  }
}

const SYSTEM_LINE = RERANK_TEMPLATE.slice(0, RERANK_TEMPLATE.indexOf('<Instruct>: '));

/** The instruction head's tokens (kept in the cache from call to call) as the model file's own template gives them: its system line, then the body up to the query. */
export async function headTokens(r: Reranker, instruction = DEFAULT_INSTRUCTION): Promise<number> {
  return (await r.tokenize(SYSTEM_LINE, { parseSpecial: true })).length + (await r.tokenize(`<Instruct>: ${instruction}\n<Query>:`)).length;
}

/** One request's scores and prompt tokens, and the tokens and decode calls it took. */
export async function measured(r: Reranker, req: RerankRequest) {
  const before = r.stats;
  const res = await r.rerank(req);
  return { scores: scoresByIndex(res), computed: r.stats.computedTokens - before.computedTokens, calls: r.stats.decodeCalls - before.decodeCalls, prompt: res.usage.prompt_tokens };
}
