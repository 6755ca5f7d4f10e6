// What one G100 request (100 documents of 256 tokens) spends outside llama_decode: tokenizing its
// documents, the JS around the call, reading the scores, and, tokenizing ahead (README "Tokenizing
// ahead"), the wait for the rest of its documents after its first round. Fixed time beside a few
// hundred ms of decoding on a GPU, which idles meanwhile.
// A GPU's decode calls (2048 tokens, 256 a stream with KV streams: lib/load-native.ts; `--batch N`
// for others), so that one native call holds the whole request (on the CPU's 512 its slices
// tokenize while earlier ones decode). The tiny model keeps decoding short on a CPU; the time
// outside decoding does not depend on the model's size. `--workloads G16,G100` measures others of
// the GPU suite's workloads too (G100, G16, D, S1, L; G16: 26 KiB of text, tokenized on one thread
// until document_pairs.cpp's kBytesPerThread was cut from 16 KiB to 2); of several requests (S32,
// T) all sent at once, the figures of them all.
// `--contexts 3 --packed` loads as a CUDA GPU does (3 contexts, requests packed), and
// `--tokenize-ahead on|off` sets the load option tokenizeAhead (default: the backend's): the time
// outside decoding then leaves out the documents it tokenizes while its first pairs decode. It prints
// the decode calls of a request too (and how many compute graphs, one a micro-batch, llama.cpp
// reused from the one before: on CUDA replayed as a CUDA graph), and the tokens it computes (the model's work: `--kv-streams N`
// sets the load option kvStreams, whose streams decode a request's query once each).
//   node dist/bench/outside-decode.js [--model FILE] [--backend cpu|cuda|vulkan] [--threads N] [--runs 9] [--workloads G100]
//     [--contexts N] [--packed] [--tokenize-ahead on|off] [--kv-streams N] [--batch N]
import { Reranker } from '../lib/index.js';
import { defaultBatchSize } from '../lib/load-native.js';
import { ensureTestModel } from '../test-models/generate.js';
import { namedGpuWorkloads } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const model = flag('--model') ?? ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
const backend = (flag('--backend') ?? 'cpu') as 'cpu' | 'cuda' | 'vulkan';
const threads = flag('--threads') ? Number(flag('--threads')) : undefined;
const runs = Number(flag('--runs') ?? 9);
const contexts = flag('--contexts') ? Number(flag('--contexts')) : undefined;
const ahead = flag('--tokenize-ahead');
const kvStreams = flag('--kv-streams') ? Number(flag('--kv-streams')) : undefined;

const r = await Reranker.load({
  model,
  gpu: backend,
  batchSize: flag('--batch') ? Number(flag('--batch')) : defaultBatchSize(true, kvStreams ?? 0),
  threads,
  contexts,
  reproducible: args.includes('--packed') ? false : undefined,
  tokenizeAhead: ahead === undefined ? undefined : ahead === 'on',
  kvStreams,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const { id, requests } of await namedGpuWorkloads(flag('--workloads'), 'G100', async (t) => (await r.tokenize(t)).length)) {
  const send = () => Promise.all(requests.map((q) => r.rerank(q)));
  await send(); // warm-up: the instruction's head is kept from here on, as in a running service
  const outside: number[] = [];
  let pairsAhead = 0;
  let calls = 0; // decode calls of the last run
  let reused = 0; // compute graphs (one a micro-batch) that llama.cpp reused from the one before
  let computed = 0; // and the tokens it computed
  const wall: number[] = [];
  for (let k = 0; k < runs; k++) {
    const before = r.stats;
    const t0 = performance.now();
    await send();
    const ms = performance.now() - t0;
    wall.push(ms);
    outside.push(ms - (r.stats.decodeMs - before.decodeMs));
    pairsAhead = r.stats.pairsAhead - before.pairsAhead;
    calls = r.stats.decodeCalls - before.decodeCalls;
    reused = r.stats.graphsReused - before.graphsReused;
    computed = r.stats.computedTokens - before.computedTokens;
  }
  const documents = requests.flatMap((q) => q.documents);
  const bytes = documents.reduce((n, d) => n + Buffer.byteLength(d), 0);
  const sent = requests.length > 1 ? `${requests.length} requests, ` : '';
  console.log(
    `${id} (${sent}${documents.length} documents, ${(bytes / 1024).toFixed(0)} KiB) on ${r.info.backend}, ${r.info.threads} threads: ` +
      `${median(outside).toFixed(1)} ms outside decoding of ${median(wall).toFixed(1)} ms (medians of ${runs}), ${calls} decode calls ` +
      `(${reused} compute graphs reused), ` +
      `${computed} tokens computed` +
      (r.info.tokenizeAhead ? `, ${pairsAhead} pairs decoded ahead` : ''),
  );
}
r.dispose();
