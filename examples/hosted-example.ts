// Reranks the hosted API's documented example with a model file and prints each score beside the
// one the hosted API returned with the real Qwen3-Reranker-0.6B.
//   npm run example -- path/to/Qwen3-Reranker-0.6B.gguf
// Without a path it uses the project's generated tiny model, whose scores mean nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reranker } from '../lib/index.js';
import { packageRoot } from '../models/paths.js';
import { ensureTestModel } from '../test-models/generate.js';
import type { RerankRequest, RerankResponse } from '../lib/types.js';

const example = JSON.parse(readFileSync(join(packageRoot, 'test', 'fixtures', 'hosted-api-example.json'), 'utf8')) as {
  request: RerankRequest;
  response: RerankResponse;
};

const model = process.argv[2] ?? ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
if (!process.argv[2]) console.log('No model given: using the generated tiny test model (random weights, meaningless scores).\n');

await using reranker = await Reranker.load({ model });
const t0 = performance.now();
const res = await reranker.rerank(example.request);
const ms = performance.now() - t0;
const hosted = new Map(example.response.results.map((r) => [r.index, r.relevance_score]));

console.log(`model: ${model} (${reranker.info.kind} GGUF, ${reranker.info.backend})`);
console.log(`query: ${example.request.query}\n`);
console.log('rank  index  llama-rerank  hosted API  document');
res.results.forEach((r, i) => {
  const doc = String(example.request.documents[r.index]).slice(0, 60);
  console.log(`${String(i + 1).padStart(4)}  ${String(r.index).padStart(5)}  ${r.relevance_score.toFixed(4).padStart(12)}  ${hosted.get(r.index)!.toFixed(4).padStart(10)}  ${doc}…`);
});
console.log(`\nusage: ${JSON.stringify(res.usage)} (hosted API: ${JSON.stringify(example.response.usage)})`);
console.log(`time: ${ms.toFixed(0)} ms`);
