// reuseGraphs against the default on one-request workloads of the GPU suite, side by side in one
// process: decode calls, the calls whose compute graph llama.cpp reused, and the median time in
// llama_decode and of the whole call, the two models' runs alternating. Both take a GPU's 2048-token
// calls as one graph each (the micro-batch is the batch), on the CPU too, which the public options do
// not offer there (its micro-batch stays 512): so this loads through the native module.
//   node dist/bench/reuse-graphs.js [--shape tiny|0.6b | --model FILE] [--backend cpu|cuda|vulkan] [--contexts N] [--runs 5] [--workloads G100]
import { nativeModule } from '../lib/native.js';
import type { NativeGroup, NativeReranker } from '../lib/native.js';
import { DEFAULT_INSTRUCTION } from '../lib/index.js';
import { ensureTestModel } from '../test-models/generate.js';
import { oneRequestWorkloads } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const shape = (flag('--shape') ?? 'tiny') as 'tiny' | '0.6b';
if (shape !== 'tiny' && shape !== '0.6b') throw new Error('--shape: tiny or 0.6b');
const path = flag('--model') ?? ensureTestModel({ shape, kind: 'rank', seed: 1 });
const gpu = flag('--backend') ?? 'cpu';
const contexts = Number(flag('--contexts') ?? 1);
const runs = Number(flag('--runs') ?? 5);

const load = (reuseGraphs: boolean) =>
  nativeModule().loadModel({
    path, gpu, gpuLayers: gpu === 'cpu' ? 0 : undefined, maxLength: 8192, batchSize: 2048, ubatchSize: 2048, maxSequences: 64,
    flashAttention: 'auto', kvType: 'f16', pack: true, contexts, reuseGraphs,
    weights: 'auto', // as a user's load: on CUDA a Q8_0 file's weights converted to BF16
  });
const models: Record<'default' | 'reuseGraphs', NativeReranker> = { default: await load(false), reuseGraphs: await load(true) };
if (!models.reuseGraphs.info().reuseGraphs) throw new Error('reuseGraphs is not in effect with these options');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (const { id, request } of await oneRequestWorkloads(flag('--workloads'), 'G100', async (t) => (await models.default.tokenize(t, false)).length)) {
  const group: NativeGroup = {
    id: 1, instruction: DEFAULT_INSTRUCTION, query: request.query, documents: request.documents, maxLength: 8192, truncate: true,
    sharePrefix: true, maxChunks: 1, chunkOverlap: 80, tokenBudget: 0,
  };
  const seen: Record<string, { calls: number; reused: number; decodeMs: number[]; wallMs: number[] }> = {};
  for (let k = 0; k <= runs; k++) {
    // alternating which goes first; the first round warms both up (the instruction's head is kept from then on)
    for (const name of k % 2 ? (['default', 'reuseGraphs'] as const) : (['reuseGraphs', 'default'] as const)) {
      const t0 = performance.now();
      const out = await models[name].score([group]);
      const wallMs = performance.now() - t0;
      if (out.groups[0].error) throw new Error(`${name}: ${out.groups[0].error}`);
      const s = (seen[name] ??= { calls: 0, reused: 0, decodeMs: [], wallMs: [] });
      if (k === 0) continue;
      s.calls = out.decodeCalls; // the same in every run: the request's layout decides them
      s.reused = out.graphsReused ?? 0;
      s.decodeMs.push(out.decodeMs);
      s.wallMs.push(wallMs);
    }
  }
  const line = (name: string) => {
    const s = seen[name];
    return `${name}: ${s.calls} decode calls, ${s.reused} graphs reused, ${median(s.decodeMs).toFixed(1)} ms decoding, ${median(s.wallMs).toFixed(1)} ms in all`;
  };
  console.log(`${id} on ${models.default.info().backend}, ${contexts} context(s), medians of ${runs}: ${line('default')}; ${line('reuseGraphs')}; ` +
    `reuseGraphs ÷ default ${(median(seen.reuseGraphs.wallMs) / median(seen.default.wallMs)).toFixed(2)}×`);
}
models.default.dispose();
models.reuseGraphs.dispose();
