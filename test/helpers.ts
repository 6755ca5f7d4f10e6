// Shared by the tests: the generated models and the hosted API's example.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelKind, ensureTestModel } from '../test-models/generate.js';
import type { RerankRequest, RerankResponse } from '../lib/types.js';

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
