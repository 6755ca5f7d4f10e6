// The four workloads of the benchmark, their sizes in full and --quick runs, and their texts.
import type { WorkloadId } from './options.js';
import { CountTokens, prng, textOfTokens } from './texts.js';

interface Size {
  /** Requests sent at once (C), else 1. */
  concurrency: number;
  docs: number;
  /** Timed passes (a pass: `concurrency` requests). */
  repeats: number;
  /** Passes of the peer with its defaults: 3× slower on 2 cores, so only a few, on A and D. */
  peerDefaultsPasses: number;
}

interface WorkloadSpec {
  id: WorkloadId;
  /** What it measures, when not throughput. */
  purpose?: string;
  /** Document length in tokens: fixed, or a [min, max] range spread evenly. */
  docTokens: number | [number, number];
  full: Size;
  quick: Size;
}

// Sizes: the issue's in full; --quick keeps each shape small enough to finish in under two minutes.
const SPECS: WorkloadSpec[] = [
  { id: 'A', docTokens: 256,
    full: { concurrency: 1, docs: 16, repeats: 2, peerDefaultsPasses: 1 },
    quick: { concurrency: 1, docs: 4, repeats: 1, peerDefaultsPasses: 0 } },
  { id: 'B', docTokens: [32, 512],
    full: { concurrency: 1, docs: 64, repeats: 1, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 4, repeats: 1, peerDefaultsPasses: 0 } },
  { id: 'C', docTokens: 64,
    full: { concurrency: 8, docs: 16, repeats: 1, peerDefaultsPasses: 0 },
    quick: { concurrency: 4, docs: 2, repeats: 1, peerDefaultsPasses: 0 } },
  { id: 'D', docTokens: 32, purpose: 'latency',
    full: { concurrency: 1, docs: 4, repeats: 10, peerDefaultsPasses: 3 },
    quick: { concurrency: 1, docs: 4, repeats: 2, peerDefaultsPasses: 0 } },
];

export interface BenchRequest {
  query: string;
  documents: string[];
}

/** A workload as the engines receive it: texts fixed, so every engine scores the same pairs. */
export interface Workload extends Size {
  id: WorkloadId;
  title: string;
  /** One request per concurrent slot; every pass sends them all. */
  requests: BenchRequest[];
  /** Measured document lengths in tokens. */
  docTokens: { min: number; mean: number; max: number };
}

const QUERY_TOKENS = 12;

/** "1 query × 16 docs of ~256 tokens": the sizes this run really uses. */
function title(spec: WorkloadSpec, size: Size): string {
  const who = size.concurrency > 1 ? `${size.concurrency} concurrent requests` : '1 query';
  const len = typeof spec.docTokens === 'number' ? `~${spec.docTokens}` : spec.docTokens.join('–');
  return `${who} × ${size.docs} docs of ${len} tokens${spec.purpose ? ` (${spec.purpose})` : ''}`;
}
const SEED = 1;

/** Targets spread evenly over the range, in a seeded order: every size has the same mean length. */
function docTargets(spec: WorkloadSpec, n: number, rand: () => number): number[] {
  if (typeof spec.docTokens === 'number') return Array(n).fill(spec.docTokens);
  const [lo, hi] = spec.docTokens;
  const t = Array.from({ length: n }, (_, i) => Math.round(n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (n - 1)));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [t[i], t[j]] = [t[j], t[i]];
  }
  return t;
}

export async function buildWorkloads(ids: WorkloadId[], quick: boolean, count: CountTokens): Promise<Workload[]> {
  const out: Workload[] = [];
  for (const spec of SPECS.filter((s) => ids.includes(s.id))) {
    // One seed per workload: a workload's texts do not depend on which others run.
    const rand = prng(SEED * 1000 + spec.id.charCodeAt(0));
    const size = quick ? spec.quick : spec.full;
    const requests: BenchRequest[] = [];
    const lengths: number[] = [];
    for (let r = 0; r < size.concurrency; r++) {
      const query = (await textOfTokens(rand, QUERY_TOKENS, count)).replace(/\.?$/, '?');
      const documents: string[] = [];
      for (const target of docTargets(spec, size.docs, rand)) {
        const doc = await textOfTokens(rand, target, count);
        documents.push(doc);
        lengths.push(await count(doc));
      }
      requests.push({ query, documents });
    }
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    out.push({
      id: spec.id, title: title(spec, size), ...size, requests,
      docTokens: { min: Math.min(...lengths), mean: Math.round(mean), max: Math.max(...lengths) },
    });
  }
  return out;
}
