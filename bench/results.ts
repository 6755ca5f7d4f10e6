// The run's record: every engine's measurements side by side, and the headline ratios.
import { WorkloadResult, percentile } from './measure.js';
import type { NoiseSettings } from './noise.js';
import type { Workload } from './workloads.js';

/** One engine's figures: its settings, load, peak RSS and each workload's passes merged. */
export interface EngineResult {
  label: string;
  settings: Record<string, unknown>;
  loadMs: number;
  warmupMs: number;
  peakRssMB: number;
  workloads: WorkloadResult[];
  error?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  platform: string;
  /** 1-minute load averages (before, lowest and highest between rounds, after): other work makes timings noisy. */
  loadBefore: number;
  loadDuring?: [number, number];
  loadAfter: number;
  /** The GPUs, as nvidia-smi describes them (absent without one), and the devices the model ran on. */
  gpus?: string[];
  devices?: string[];
}

/** One workload as the PyTorch baseline timed it (bench/baselines/qwen3_torch.py). */
export interface BaselineWorkload {
  passes: number;
  pairs: number;
  tokens: number;
  /** Tokens with the padding of each batch (left padding to its longest pair). */
  paddedTokens: number;
  msPerPass: number[];
  medianMs: number;
  pairsPerSec: number;
}

/** The baseline's JSON output: the model card's recipe and a last-token variant on the same tokens. */
export interface Baseline {
  script: string;
  device: string;
  torch: string;
  transformers: string;
  dtype: string;
  attention: string;
  batch: number;
  config: Record<string, unknown>;
  variants: Record<string, Record<string, BaselineWorkload>>;
}

export interface Headline {
  workload: string;
  pairsPerSec: number;
  /** The better of the peer's configurations on this workload (the fair comparison). */
  peer?: { label: string; pairsPerSec: number; ratio: number };
  /** llama-rerank's prompt and computed tokens over the ceiling's in the same time (see vsCeiling). */
  promptVsCeiling?: number;
  computedVsCeiling?: number;
}

export interface BenchReport {
  date: string;
  command: string;
  quick: boolean;
  /** The commit measured (`git describe --dirty`); absent in runs before it was recorded. */
  revision?: string;
  backend: string;
  machine: Machine;
  /** How passes were kept from other work on the machine (bench/noise.ts). */
  noise?: NoiseSettings;
  model: { file: string; generated: boolean; description: string; kind: string };
  workloads: (Omit<Workload, 'requests'> & { promptTokensPerPass?: number })[];
  engines: EngineResult[];
  ceiling?: { tokensPerSec: number; sequences: number; sequenceTokens: number };
  headline: Headline[];
  /** The PyTorch baseline on the same tokens, when it was run (`--baseline FILE` or render.js). */
  baseline?: Baseline;
  notes: string[];
}

export const LLAMA_RERANK = 'llama-rerank';

/** The median time of a pass: each kept pass was timed alone (the mean where passes were timed together). */
export function medianPassMs(w: WorkloadResult): number {
  const passes = w.perPass?.map((p) => p.wallMs) ?? [];
  return passes.length === w.passes ? percentile(passes, 50) : w.wallMs / w.passes;
}

export function find(r: EngineResult | undefined, id: string): WorkloadResult | undefined {
  return r?.workloads.find((w) => w.id === id);
}

/** node-llama-cpp reports no usage: its prompt tokens are llama-rerank's count of the same pairs. */
export function fillPeerPromptTokens(peer: EngineResult, ours: EngineResult | undefined): void {
  for (const w of peer.workloads) {
    const mine = find(ours, w.id);
    if (!mine) continue;
    w.promptTokens = (mine.promptTokens / mine.passes) * w.passes;
    w.promptTokensPerSec = (w.promptTokens * 1000) / w.wallMs;
  }
}

/**
 * llama-rerank's computed tokens over what the ceiling would have computed in the same time, each
 * pass against the ceiling sequence of its own round: the machine's speed varies in ways /proc/stat
 * does not show (other virtual machines on the host), and a round is timed close together.
 * `rounds`: the workload of each round, in order; without one ceiling pass a round, the run's average.
 */
function vsCeiling(w: WorkloadResult, ceiling: WorkloadResult, rounds: string[]): number {
  const rates = (ceiling.perPass ?? []).map((p) => p.computedTokens / p.wallMs);
  const mine = w.perPass ?? [];
  if (rates.length !== rounds.length || mine.length === 0) return w.computedTokensPerSec / ceiling.computedTokensPerSec;
  const at = rounds.flatMap((id, i) => (id === w.id ? [i] : []));
  const ceilingTokens = mine.reduce((n, p, j) => n + p.wallMs * rates[at[j]], 0);
  return mine.reduce((n, p) => n + p.computedTokens, 0) / ceilingTokens;
}

export function headlines(engines: EngineResult[], ceiling: WorkloadResult | undefined, rounds: string[]): Headline[] {
  const ours = engines.find((e) => e.label === LLAMA_RERANK);
  const peers = engines.filter((e) => e.label.startsWith('node-llama-cpp') && !e.error);
  return (ours?.workloads ?? []).map((w) => {
    const h: Headline = { workload: w.id, pairsPerSec: w.pairsPerSec };
    for (const p of peers) {
      const pw = find(p, w.id);
      if (pw && (!h.peer || pw.pairsPerSec > h.peer.pairsPerSec)) {
        h.peer = { label: p.label, pairsPerSec: pw.pairsPerSec, ratio: w.pairsPerSec / pw.pairsPerSec };
      }
    }
    if (ceiling) {
      h.computedVsCeiling = vsCeiling(w, ceiling, rounds);
      h.promptVsCeiling = (h.computedVsCeiling * w.promptTokens) / w.computedTokens;
    }
    return h;
  });
}
