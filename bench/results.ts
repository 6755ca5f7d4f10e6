// The run's record: every engine's measurements side by side, and the headline ratios.
import type { WorkloadResult } from './measure.js';
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
}

export interface Headline {
  workload: string;
  pairsPerSec: number;
  /** The better of the peer's configurations on this workload (the fair comparison). */
  peer?: { label: string; pairsPerSec: number; ratio: number };
  /** llama-rerank's prompt and computed tokens/s over the ceiling's tokens/s. */
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
  notes: string[];
}

export const LLAMA_RERANK = 'llama-rerank';

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

export function headlines(engines: EngineResult[], ceilingTokensPerSec: number | undefined): Headline[] {
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
    if (ceilingTokensPerSec) {
      h.promptVsCeiling = w.promptTokensPerSec / ceilingTokensPerSec;
      h.computedVsCeiling = w.computedTokensPerSec / ceilingTokensPerSec;
    }
    return h;
  });
}
