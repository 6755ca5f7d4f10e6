// What isolate: true costs: the same requests on the tiny model in-process and in a child process,
// rounds interleaved so both see the same machine. The tiny model computes little, so the pipe's
// share of a call is as large here as it gets; a real model's calls take far longer, the pipe's
// cost the same.
//   npm run bench:isolate -- [rounds=5]
import { Reranker } from '../lib/index.js';
import type { RerankRequest } from '../lib/types.js';
import { ensureTestModel } from '../test-models/generate.js';

const rounds = Number(process.argv[2] ?? 5);
const model = ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
const options = { model, threads: 2, maxLength: 256 };
const text = (i: number, words: number) => `document ${i}: ${'the river runs past the mill '.repeat(words / 6)}`;

interface Workload {
  name: string;
  calls: number;
  concurrency: number;
  call: (reranker: Reranker, i: number) => Promise<unknown>;
}
const rerank = (request: (i: number) => RerankRequest) => (reranker: Reranker, i: number) => reranker.rerank(request(i));
const short = (i: number): RerankRequest => ({ query: `q${i}`, documents: [0, 1, 2, 3, 4].map((d) => text(d, 12)) });
const workloads: Workload[] = [
  // No model work to speak of: the round trip itself.
  { name: 'tokenize one word', calls: 500, concurrency: 1, call: (r, i) => r.tokenize(`word${i}`) },
  { name: '1 query x 5 short docs, one call at a time', calls: 100, concurrency: 1, call: rerank(short) },
  { name: '8 concurrent calls x 5 short docs', calls: 200, concurrency: 8, call: rerank(short) },
  { name: '1 query x 64 docs of ~200 tokens', calls: 10, concurrency: 1,
    call: rerank((i) => ({ query: `q${i}`, documents: Array.from({ length: 64 }, (_, d) => text(d, 150)) })) },
  // 1 MB crosses the pipe; the pairs are cut to maxLength, so the compute stays small.
  { name: '1 query x 100 docs of 10 KB (1 MB), cut to 256 tokens', calls: 3, concurrency: 1,
    call: rerank((i) => ({ query: `q${i}`, documents: Array.from({ length: 100 }, (_, d) => text(d, 1700).slice(0, 10_240)) })) },
];

async function time(reranker: Reranker, w: Workload): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < w.calls; i += w.concurrency) {
    await Promise.all(Array.from({ length: Math.min(w.concurrency, w.calls - i) }, (_, k) => w.call(reranker, i + k)));
  }
  return (performance.now() - started) / w.calls;
}

const inProcess = await Reranker.load(options);
const isolated = await Reranker.load({ ...options, isolate: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${rounds} rounds, medians\n\n| workload | in-process ms/call | isolated ms/call | difference |\n| --- | --- | --- | --- |`);
for (const w of workloads) {
  await time(inProcess, { ...w, calls: w.concurrency }); // warm-up
  await time(isolated, { ...w, calls: w.concurrency });
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Each round in the other order, so neither side always runs right after the other's work.
    const first = r % 2 ? isolated : inProcess;
    const second = r % 2 ? inProcess : isolated;
    const [t1, t2] = [await time(first, w), await time(second, w)];
    a.push(first === inProcess ? t1 : t2);
    b.push(first === inProcess ? t2 : t1);
  }
  const [x, y] = [median(a), median(b)];
  console.log(`| ${w.name} | ${x.toFixed(2)} | ${y.toFixed(2)} | ${(y - x).toFixed(2)} ms (${(((y - x) / x) * 100).toFixed(1)}%) |`);
}
inProcess.dispose();
isolated.dispose();
