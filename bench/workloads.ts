// The benchmark's workloads (the CPU suite A–D, the GPU suite of issue 9), their sizes in full and
// --quick runs, and their texts.
import { GPU_WORKLOADS } from './options.js';
import type { Suite, WorkloadId } from './options.js';
import { CountTokens, prng, textOfTokens } from './texts.js';

type GpuWorkloadId = (typeof GPU_WORKLOADS)[number];

interface Size {
  /** Requests sent at once (C, S32, T), else 1. */
  concurrency: number;
  docs: number;
  /** Timed passes (a pass: `concurrency` requests). */
  repeats: number;
  /** Passes of the tuned peer (absent: `repeats`): it scores one document at a time, so big GPU workloads get few. */
  peerPasses?: number;
  /** Passes of the peer with its defaults: 3× slower on 2 cores, so only a few, on A and D. */
  peerDefaultsPasses: number;
  /** Document length in tokens, when it differs from the spec's (quick GPU runs on a CPU). */
  docLength?: number;
}

interface WorkloadSpec {
  id: WorkloadId;
  /** What it measures, when not throughput. */
  purpose?: string;
  /** Document length in tokens: fixed, or a [min, max] range spread evenly. */
  docTokens: number | [number, number];
  /** The same documents as another workload's requests, sent as ONE request (with its first query). */
  sameAs?: WorkloadId;
  full: Size;
  quick: Size;
}

// Sizes: the issue's in full; --quick keeps each shape small enough to finish in under two minutes.
const CPU_SPECS: WorkloadSpec[] = [
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

// Issue 9's GPU workloads. Full sizes take about 3 minutes on an H200 with the peer; --quick is
// small enough to check the suite on a CPU or a software Vulkan device.
const GPU_SPECS: WorkloadSpec[] = [
  { id: 'G100', docTokens: 256,
    full: { concurrency: 1, docs: 100, repeats: 5, peerPasses: 2, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 8, repeats: 1, peerDefaultsPasses: 0, docLength: 64 } },
  { id: 'G16', docTokens: 256,
    full: { concurrency: 1, docs: 16, repeats: 10, peerPasses: 4, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 4, repeats: 1, peerDefaultsPasses: 0, docLength: 64 } },
  { id: 'D', docTokens: 32, purpose: 'latency',
    full: { concurrency: 1, docs: 4, repeats: 20, peerPasses: 10, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 4, repeats: 2, peerDefaultsPasses: 0 } },
  { id: 'S32', docTokens: 128, purpose: 'many small requests',
    full: { concurrency: 32, docs: 8, repeats: 3, peerPasses: 1, peerDefaultsPasses: 0 },
    quick: { concurrency: 4, docs: 2, repeats: 1, peerDefaultsPasses: 0, docLength: 32 } },
  { id: 'S1', docTokens: 128, sameAs: 'S32', purpose: "S32's documents as one request",
    full: { concurrency: 1, docs: 256, repeats: 3, peerPasses: 0, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 8, repeats: 1, peerPasses: 0, peerDefaultsPasses: 0, docLength: 32 } },
  { id: 'T', docTokens: 256, purpose: 'throughput',
    full: { concurrency: 16, docs: 100, repeats: 2, peerPasses: 0, peerDefaultsPasses: 0 },
    quick: { concurrency: 2, docs: 4, repeats: 1, peerPasses: 0, peerDefaultsPasses: 0, docLength: 64 } },
  { id: 'L', docTokens: 4000, purpose: 'long documents',
    full: { concurrency: 1, docs: 8, repeats: 2, peerPasses: 1, peerDefaultsPasses: 0 },
    quick: { concurrency: 1, docs: 1, repeats: 1, peerDefaultsPasses: 0, docLength: 512 } },
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
  const tokens = size.docLength ?? spec.docTokens;
  const len = typeof tokens === 'number' ? `~${tokens}` : tokens.join('–');
  return `${who} × ${size.docs} docs of ${len} tokens${spec.purpose ? ` (${spec.purpose})` : ''}`;
}
const SEED = 1;

/** Targets spread evenly over the range, in a seeded order: every size has the same mean length. */
function docTargets(tokens: number | [number, number], n: number, rand: () => number): number[] {
  if (typeof tokens === 'number') return Array(n).fill(tokens);
  const [lo, hi] = tokens;
  const t = Array.from({ length: n }, (_, i) => Math.round(n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (n - 1)));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [t[i], t[j]] = [t[j], t[i]];
  }
  return t;
}

/** A workload's own seed (one-letter ids keep the seeds the CPU suite always had). */
const seedOf = (id: string) => SEED * 1000 + [...id].reduce((h, c) => h * 31 + c.charCodeAt(0), 0);

export const specsOf = (suite: Suite): WorkloadSpec[] => (suite === 'cpu' ? CPU_SPECS : GPU_SPECS);

export async function buildWorkloads(suite: Suite, ids: WorkloadId[], quick: boolean, count: CountTokens): Promise<Workload[]> {
  const specs = specsOf(suite);
  const built = new Map<WorkloadId, { requests: BenchRequest[]; lengths: number[] }>();
  // One seed per workload: a workload's texts do not depend on which others run.
  const texts = async (spec: WorkloadSpec): Promise<{ requests: BenchRequest[]; lengths: number[] }> => {
    const size = quick ? spec.quick : spec.full;
    const got = built.get(spec.id);
    if (got) return got;
    const requests: BenchRequest[] = [];
    const lengths: number[] = [];
    const source = specs.find((s) => s.id === spec.sameAs);
    if (source) {
      const from = await texts(source);
      requests.push({ query: from.requests[0].query, documents: from.requests.flatMap((r) => r.documents) });
      lengths.push(...from.lengths);
    } else {
      const rand = prng(seedOf(spec.id));
      for (let r = 0; r < size.concurrency; r++) {
        const query = (await textOfTokens(rand, QUERY_TOKENS, count)).replace(/\.?$/, '?');
        const documents: string[] = [];
        for (const target of docTargets(size.docLength ?? spec.docTokens, size.docs, rand)) {
          const doc = await textOfTokens(rand, target, count);
          documents.push(doc);
          lengths.push(await count(doc));
        }
        requests.push({ query, documents });
      }
    }
    built.set(spec.id, { requests, lengths });
    return { requests, lengths };
  };
  const out: Workload[] = [];
  for (const spec of specs.filter((s) => ids.includes(s.id))) {
    const size = quick ? spec.quick : spec.full;
    const { requests, lengths } = await texts(spec);
    if (spec.sameAs && requests[0].documents.length !== size.docs) throw new Error(`${spec.id}: sizes differ from ${spec.sameAs}'s`);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    out.push({
      id: spec.id, title: title(spec, size), ...size, requests,
      docTokens: { min: Math.min(...lengths), mean: Math.round(mean), max: Math.max(...lengths) },
    });
  }
  return out;
}

/**
 * The GPU suite's workloads a script's `--workloads` names (comma-separated; `fallback` when absent),
 * each with its requests (several for S32 and T, sent at once).
 */
export async function namedGpuWorkloads(names: string | undefined, fallback: string, count: CountTokens): Promise<{ id: string; requests: BenchRequest[] }[]> {
  const ids = (names ?? fallback).split(',').map((w) => w.trim().toUpperCase());
  for (const id of ids) if (!GPU_WORKLOADS.includes(id as GpuWorkloadId)) throw new Error(`--workloads: ${id} is not one of ${GPU_WORKLOADS.join(', ')}`);
  return (await buildWorkloads('gpu', ids as GpuWorkloadId[], false, count)).map((w) => ({ id: w.id, requests: w.requests }));
}

/**
 * namedGpuWorkloads, each as its one request: for the scripts that time one request at a time
 * (reuse-graphs). A workload of concurrent requests is refused.
 */
export async function oneRequestWorkloads(names: string | undefined, fallback: string, count: CountTokens): Promise<{ id: string; request: BenchRequest }[]> {
  return (await namedGpuWorkloads(names, fallback, count)).map((w) => {
    if (w.requests.length !== 1) throw new Error(`--workloads: ${w.id} is ${w.requests.length} concurrent requests, not one`);
    return { id: w.id, request: w.requests[0] };
  });
}
