// What max_tokens_per_doc costs on POST /v2/rerank: each document set posted to /v2/rerank, its
// documents as /v2 cuts them posted to /v1/rerank (the same pairs scored, nothing cut), and the
// cutting alone, as the route does it (truncateDocuments). The server runs in this process on 127.0.0.1.
//   npm run bench:v2 -- [--model path.gguf] [--runs 3]
import { parseArgs } from 'node:util';
import { Reranker } from '../lib/index.js';
import { buildServer } from '../lib/server/app.js';
import { truncateDocuments } from '../lib/server/cohere.js';
import { ensureTestModel } from '../test-models/generate.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const model = values.model ?? ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
const runs = Number(values.runs);

const sentence = 'The quick brown fox jumps over the lazy dog while naïve café owners watch. ';
const sets: { name: string; documents: string[]; maxTokens: number }[] = [
  { name: '100 documents of ~1,500 tokens, max 512', documents: Array.from({ length: 100 }, (_, i) => `${i} ${sentence.repeat(90)}`), maxTokens: 512 },
  { name: '20 documents of ~20,000 tokens, max 4096', documents: Array.from({ length: 20 }, (_, i) => `${i} ${sentence.repeat(1200)}`), maxTokens: 4096 },
  { name: '1 document of 4 MiB of spaces, max 4096', documents: [' '.repeat(4 << 20)], maxTokens: 4096 },
];

const reranker = await Reranker.load({ model });
const server = buildServer({ reranker, modelName: 'bench', disposeOnShutdown: false });
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });

/** The best of `runs` runs of `task`, in ms. */
async function best(task: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await task();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

async function post(path: string, body: object): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

await post('/v1/rerank', { query: 'warm up', documents: ['the compute buffers are set up by the first call'] });
console.log(`model ${model}, best of ${runs}`);
console.log('| documents | /v2/rerank ms | /v1/rerank ms, the same cut documents | cutting alone ms |');
console.log('| --- | --- | --- | --- |');
for (const { name, documents, maxTokens } of sets) {
  const query = 'what does the fox do?';
  const truncate = (text: string, n: number) => reranker.truncate(text, n);
  const v2 = await best(() => post('/v2/rerank', { model: 'bench', query, documents, max_tokens_per_doc: maxTokens }));
  const cut = await truncateDocuments(truncate, documents, maxTokens);
  const v1 = await best(() => post('/v1/rerank', { query, documents: cut }));
  const cutting = await best(() => truncateDocuments(truncate, documents, maxTokens));
  console.log(`| ${name} | ${v2.toFixed(0)} | ${v1.toFixed(0)} | ${cutting.toFixed(0)} |`);
}
await server.shutdown();
reranker.dispose();
