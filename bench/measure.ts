// Timing a workload on an engine, the same way for every engine: passes of `concurrency`
// requests sent at once, each request's latency, and the engine's token counters around it.
import type { BenchRequest } from './workloads.js';

export interface TokenTotals {
  /** Tokens as the hosted API counts them (usage.prompt_tokens), where the engine reports it. */
  promptTokens: number;
  /** Tokens the engine actually evaluated. */
  computedTokens: number;
  /** llama_decode calls and their native wall time, where the engine counts them. */
  decodeCalls?: number;
  decodeMs?: number;
  /** Decode calls whose compute graph llama.cpp reused from the call before (stats.graphsReused). */
  graphsReused?: number;
}

/** What a child process drives: one loaded model answering rerank requests. */
export interface Engine {
  /** The documents' scores, in document order. */
  rank(request: BenchRequest): Promise<number[]>;
  totals(): TokenTotals;
}

/** What is timed: a workload's requests, or the ceiling's sequences. */
export interface Timed {
  id: string;
  requests: BenchRequest[];
}

/** The counters of timed passes, as a child measures them. */
interface Counts extends TokenTotals {
  id: string;
  passes: number;
  requests: number;
  pairs: number;
  wallMs: number;
  latenciesMs: number[];
  /** Scores of the first request, to compare engines on the same pairs. */
  firstScores: number[];
  /** CPU time of the engine's process during the passes. */
  cpuMs: number;
  /** CPU time of everything else on the machine meanwhile (the parent measures it): the noise. */
  othersCpuMs?: number;
  /** Passes timed again because the machine was busy: the parent leaves those out. */
  redone?: number;
  /** Each kept pass, in the order timed (the parent merges them). */
  perPass?: { wallMs: number; computedTokens: number }[];
}

export interface WorkloadResult extends Counts {
  pairsPerSec: number;
  promptTokensPerSec: number;
  computedTokensPerSec: number;
  p50Ms: number;
  p95Ms: number;
}

/** Nearest-rank percentile: a latency some request actually had. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(c: Counts): WorkloadResult {
  const perSec = (n: number) => (n * 1000) / c.wallMs;
  return {
    ...c, pairsPerSec: perSec(c.pairs), promptTokensPerSec: perSec(c.promptTokens), computedTokensPerSec: perSec(c.computedTokens),
    p50Ms: percentile(c.latenciesMs, 50), p95Ms: percentile(c.latenciesMs, 95),
  };
}

const difference = (after: number | undefined, before: number | undefined) =>
  after === undefined || before === undefined ? undefined : after - before;

export async function runWorkload(engine: Engine, w: Timed, passes: number): Promise<WorkloadResult> {
  const before = engine.totals();
  const latenciesMs: number[] = [];
  let firstScores: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    await Promise.all(w.requests.map(async (request, i) => {
      const start = performance.now();
      const scores = await engine.rank(request);
      latenciesMs.push(performance.now() - start);
      if (pass === 0 && i === 0) firstScores = scores;
    }));
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = engine.totals();
  return summarize({
    id: w.id, passes, requests: passes * w.requests.length, wallMs, latenciesMs, firstScores, cpuMs: (cpu.user + cpu.system) / 1000,
    pairs: passes * w.requests.reduce((n, r) => n + r.documents.length, 0),
    promptTokens: after.promptTokens - before.promptTokens, computedTokens: after.computedTokens - before.computedTokens,
    decodeCalls: difference(after.decodeCalls, before.decodeCalls), decodeMs: difference(after.decodeMs, before.decodeMs),
    graphsReused: difference(after.graphsReused, before.graphsReused),
  });
}

/** One result from passes timed apart (the parent alternates engines between passes). */
export function mergeResults(parts: WorkloadResult[]): WorkloadResult {
  const sum = (k: 'passes' | 'requests' | 'pairs' | 'wallMs' | 'promptTokens' | 'computedTokens' | 'cpuMs' | 'othersCpuMs' | 'decodeCalls' | 'decodeMs' | 'graphsReused') =>
    parts.reduce((n, p) => n + (p[k] ?? NaN), 0);
  const known = (n: number) => (Number.isNaN(n) ? undefined : n);
  return summarize({
    id: parts[0].id, passes: sum('passes'), requests: sum('requests'), pairs: sum('pairs'), wallMs: sum('wallMs'),
    promptTokens: sum('promptTokens'), computedTokens: sum('computedTokens'), cpuMs: sum('cpuMs'),
    othersCpuMs: known(sum('othersCpuMs')), decodeCalls: known(sum('decodeCalls')), decodeMs: known(sum('decodeMs')),
    graphsReused: known(sum('graphsReused')),
    latenciesMs: parts.flatMap((p) => p.latenciesMs), firstScores: parts[0].firstScores,
    perPass: parts.map((p) => ({ wallMs: p.wallMs, computedTokens: p.computedTokens })),
  });
}
