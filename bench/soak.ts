// Soak: many rerank() calls on the tiny model while sampling RSS; prints the RSS slope after
// warm-up (KiB per 1,000 calls) by least squares. Flat memory is a slope near zero.
//   npm run bench:soak -- [calls=10000]
import { Reranker } from '../lib/index.js';
import { ensureTestModel } from '../test-models/generate.js';

const calls = Number(process.argv[2] ?? 10_000);
const model = ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
const reranker = await Reranker.load({ model });
const docs = (i: number) => Array.from({ length: 1 + (i % 8) }, (_, j) => `document ${j} of call ${i}: ${'text '.repeat(j * 3)}`);

const samples: [number, number][] = [];
const started = performance.now();
for (let i = 1; i <= calls; i++) {
  // a few concurrent calls at a time, as a service sees them
  if (i % 4 === 0) await Promise.all([1, 2, 3].map((k) => reranker.rerank({ query: `query ${i + k}`, documents: docs(i + k) })));
  else await reranker.rerank({ query: `query ${i}`, documents: docs(i), top_n: 3 });
  if (i % 250 === 0) samples.push([i, process.memoryUsage().rss / 1024]);
}
reranker.dispose();

const warm = samples.filter(([i]) => i > calls * 0.2);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const mx = mean(warm.map(([x]) => x));
const my = mean(warm.map(([, y]) => y));
const slope = warm.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / warm.reduce((s, [x]) => s + (x - mx) ** 2, 0);
const rss = samples.map(([, y]) => y);
console.log(JSON.stringify({
  calls,
  seconds: +((performance.now() - started) / 1000).toFixed(1),
  rssKiB: { first: Math.round(rss[0]), min: Math.round(Math.min(...rss)), max: Math.round(Math.max(...rss)), last: Math.round(rss[rss.length - 1]) },
  slopeKiBPer1000Calls: +(slope * 1000).toFixed(1),
}));
