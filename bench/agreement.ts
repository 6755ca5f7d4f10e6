// CPU vs GPU scores on the generated models, without vitest: a check the GPU run makes with node
// alone (bench/gpu/device-run.sh). For each model (tiny F32, 0.6B-shaped Q8_0) it scores the same
// request on the CPU and on the GPU backend and reports the largest difference, and checks that the
// GPU gives a request the same scores alone and among 8 concurrent ones (the README's promise).
//   node dist/bench/agreement.js --backend cuda|vulkan|metal [--models tiny,0.6b] [--out FILE]
// The bounds are loose sanity limits, far above what issue 9 measured on an H200 (tiny 1.2e-3,
// 0.6B 2.0e-2) and far below what a broken kernel gives (scores off by tenths).
import { writeFileSync } from 'node:fs';
import { Reranker } from '../lib/index.js';
import { ShapeName, ensureTestModel } from '../models/test-models.js';
import { prng, words } from './texts.js';

const BOUNDS: Record<ShapeName, number> = { tiny: 1e-2, '0.6b': 5e-2 };

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const backend = flag('--backend') as 'cuda' | 'vulkan' | 'metal' | undefined;
if (!backend || !['cuda', 'vulkan', 'metal'].includes(backend)) throw new Error('usage: node dist/bench/agreement.js --backend cuda|vulkan|metal [--out FILE]');

const rand = prng(9);
const request = (n: number) => ({
  query: words(rand, 10).join(' '),
  documents: Array.from({ length: n }, (_, i) => words(rand, 20 + 15 * i).join(' ')),
});

async function scores(r: Reranker, req: { query: string; documents: string[] }): Promise<number[]> {
  const out: number[] = [];
  for (const x of (await r.rerank(req)).results) out[x.index] = x.relevance_score;
  return out;
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

const report: Record<string, unknown>[] = [];
let failed = false;
const shapes = (flag('--models') ?? 'tiny,0.6b').split(',') as ShapeName[];
if (!shapes.every((s) => s in BOUNDS)) throw new Error(`--models: expected tiny and/or 0.6b, got ${shapes.join(',')}`);
for (const shape of shapes) {
  const model = ensureTestModel({ shape, kind: 'rank', seed: 1 });
  const main = request(8);
  const others = Array.from({ length: 7 }, () => request(6));
  const cpu = await Reranker.load({ model, gpu: 'cpu' });
  const onCpu = await scores(cpu, main);
  cpu.dispose();
  const gpu = await Reranker.load({ model, gpu: backend });
  const alone = await scores(gpu, main);
  const together = await Promise.all([main, ...others].map((q) => scores(gpu, q)));
  const row = {
    model: shape, device: gpu.info.devices.join(', '), backend: gpu.info.backend,
    cpuVsGpu: maxDiff(onCpu, alone), bound: BOUNDS[shape], aloneVsConcurrent: maxDiff(alone, together[0]),
  };
  gpu.dispose();
  const ok = row.cpuVsGpu <= row.bound && row.aloneVsConcurrent === 0 && alone.every(Number.isFinite);
  failed ||= !ok;
  report.push({ ...row, ok });
  console.log(`${shape}: CPU vs ${row.backend} ${row.cpuVsGpu.toExponential(2)} (bound ${row.bound}), alone vs among 8 concurrent ${row.aloneVsConcurrent}${ok ? '' : '  FAILED'}`);
}
const out = flag('--out');
if (out) writeFileSync(out, JSON.stringify(report, null, 1) + '\n');
process.exit(failed ? 1 : 0);
