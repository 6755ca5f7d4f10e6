// Packing A/B: the same pairs sent as many concurrent requests, decoded alone (reproducible) or
// packed into shared decode calls, and sent as one request. Prints wall time, llama_decode calls and
// the time inside them, so a GPU run shows what packing saves per call. With --kv-streams N, the
// packed and one-request runs again with a KV stream per pair (the load option kvStreams).
//   npm run bench:packing -- [--shape tiny|0.6b] [--gpu auto|cpu|cuda|vulkan|metal] [--requests 32] [--docs 8] [--words 90] [--kv-streams N]
import { Reranker } from '../lib/index.js';
import type { GpuOption, RerankRequest } from '../lib/types.js';
import { ensureTestModel } from '../test-models/generate.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const shape = arg('shape', 'tiny') as 'tiny' | '0.6b';
const gpu = arg('gpu', 'auto') as GpuOption;
const requests = Number(arg('requests', '32'));
const docs = Number(arg('docs', '8'));
const words = Number(arg('words', '90')); // about 128 tokens a document
const kvStreams = Number(arg('kv-streams', '0'));

const model = ensureTestModel({ shape, kind: 'rank', seed: 1 });
const text = (r: number, d: number) => `Document ${d} for request ${r}. ${'relevant words about many things '.repeat(words / 5)}`;
const many: RerankRequest[] = Array.from({ length: requests }, (_, r) => ({
  query: 'what is said about things',
  documents: Array.from({ length: docs }, (_, d) => text(r, d)),
}));
const one: RerankRequest = { query: 'what is said about things', documents: many.flatMap((r) => r.documents as string[]) };

async function run(label: string, reproducible: boolean, send: (r: Reranker) => Promise<unknown>, streams = 0) {
  const r = await Reranker.load({ model, gpu, reproducible, kvStreams: streams });
  await r.rerank({ query: 'warm up', documents: ['a', 'b'] });
  const before = r.stats;
  const start = performance.now();
  await send(r);
  const ms = performance.now() - start;
  const after = r.stats;
  const calls = after.decodeCalls - before.decodeCalls;
  const decodeMs = after.decodeMs - before.decodeMs;
  console.log(
    `${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ${String(calls).padStart(4)} decode calls  ` +
      `${(decodeMs / calls).toFixed(1).padStart(7)} ms/call  ${(after.computedTokens - before.computedTokens).toString().padStart(7)} computed tokens  (${r.info.backend})`,
  );
  await r[Symbol.asyncDispose]();
  return ms;
}

console.log(`${shape} model, ${requests} requests x ${docs} documents (${gpu})`);
const aloneMs = await run('concurrent, each decoded alone', true, (r) => Promise.all(many.map((q) => r.rerank(q))));
const packedMs = await run('concurrent, packed', false, (r) => Promise.all(many.map((q) => r.rerank(q))));
const oneMs = await run('as one request', false, (r) => r.rerank(one));
console.log(`packed / alone time: ${(packedMs / aloneMs).toFixed(2)}; one request / packed (throughput ratio): ${(oneMs / packedMs).toFixed(2)}`);
if (kvStreams > 0) {
  const streamsPackedMs = await run(`concurrent, packed, ${kvStreams} KV streams`, false, (r) => Promise.all(many.map((q) => r.rerank(q))), kvStreams);
  const streamsOneMs = await run(`as one request, ${kvStreams} KV streams`, false, (r) => r.rerank(one), kvStreams);
  console.log(`KV streams / shared cache time: packed ${(streamsPackedMs / packedMs).toFixed(2)}, one request ${(streamsOneMs / oneMs).toFixed(2)}`);
}
