// The report's GPU-minded tables: llama-rerank beside the PyTorch baseline on the same tokens,
// where its time goes per decode call, and its other configurations against its default.
import { CONFIGS, ConfigName, configLabel } from './configs.js';
import type { WorkloadResult } from './measure.js';
import { BenchReport, LLAMA_RERANK, find, medianPassMs } from './results.js';

const f = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const x = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)}×`);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const table = (head: string[]) => [row(head), row(head.map(() => '---'))];

const OFFICIAL = 'official';
const LAST_TOKEN = 'lastToken';

/** Per workload: ms per pass of llama-rerank, node-llama-cpp and the baseline's variants, and our time over the last-token one. */
export function baselineTable(r: BenchReport): string[] {
  const b = r.baseline;
  if (!b) return [];
  const ours = r.engines.find((e) => e.label === LLAMA_RERANK);
  const peer = r.engines.find((e) => e.label.startsWith('node-llama-cpp') && !e.error);
  const out = [
    `PyTorch baseline (\`${b.script}\`): transformers ${b.transformers}, torch ${b.torch}, ${b.dtype}, ${b.attention} attention, ` +
      `batches of up to ${b.batch} pairs, on ${b.device}; a random-weight model of the GGUF's shape, the same token ids. ` +
      'Milliseconds per pass (median; a pass is every request of the workload); "÷ last-token" is llama-rerank\'s time over ' +
      "the baseline's last-token variant: at most 1.00× is the goal.",
    '',
    ...table(['workload', 'llama-rerank ms', 'node-llama-cpp ms', 'official recipe ms', 'last-token ms', '÷ last-token',
      'llama-rerank pairs/s', 'last-token pairs/s', 'padded ÷ real tokens']),
  ];
  for (const w of ours?.workloads ?? []) {
    const official = b.variants[OFFICIAL]?.[w.id];
    const last = b.variants[LAST_TOKEN]?.[w.id];
    const pw = find(peer, w.id);
    const mine = medianPassMs(w);
    out.push(row([w.id, f(mine), pw ? f(medianPassMs(pw)) : '–', f(official?.medianMs), f(last?.medianMs),
      x(last && mine / last.medianMs), f(w.pairsPerSec), f(last?.pairsPerSec), last ? f(last.paddedTokens / last.tokens, 2) : '–']));
  }
  return out;
}

function decodeCells(w: WorkloadResult): string[] {
  const pass = (n: number | undefined) => (n === undefined ? undefined : n / w.passes);
  const calls = w.decodeCalls;
  return [f(medianPassMs(w)), f(pass(calls)), f(pass(w.decodeMs)), w.decodeMs === undefined ? '–' : `${((100 * w.decodeMs) / w.wallMs).toFixed(0)}%`,
    f(calls && w.decodeMs !== undefined ? w.decodeMs / calls : undefined, 2),
    f((1000 * (w.decodeMs ?? w.wallMs)) / w.computedTokens, 2), f(calls ? w.computedTokens / calls : undefined, 0), f(pass(w.graphsReused))];
}

/**
 * Where llama-rerank's time goes: decode calls per pass, their native wall time and its share of
 * the pass, ms per call and µs per computed token (from the native decode time where the module
 * reports it, else from the pass's wall time), and the calls whose compute graph llama.cpp reused.
 */
export function decodeTable(r: BenchReport): string[] {
  const engines = r.engines.filter((e) => e.label.startsWith(LLAMA_RERANK) && e.workloads.length);
  if (!engines.length) return [];
  const reported = engines.some((e) => e.workloads.some((w) => w.decodeCalls !== undefined));
  const out = [
    'Where the time goes (llama-rerank, per pass)' +
      (reported ? ':' : ': this native module does not report decode calls and their time, so only the wall-clock columns are filled.'),
    '',
    ...table(['engine', 'workload', 'ms', 'decode calls', 'decode ms', 'decode ÷ wall', 'ms per call', 'µs per computed token', 'tokens per call', 'graphs reused']),
  ];
  for (const e of engines) for (const w of e.workloads) out.push(row([e.label, w.id, ...decodeCells(w)]));
  return out;
}

/** Each other configuration's time on its workload against the default's in the same run. */
export function configTable(r: BenchReport): string[] {
  const ours = r.engines.find((e) => e.label === LLAMA_RERANK);
  const rows = Object.keys(CONFIGS).flatMap((name) => {
    const e = r.engines.find((c) => c.label === configLabel(name));
    if (!e) return [];
    const w = e.workloads[0];
    const base = w && find(ours, w.id);
    return [row([name, CONFIGS[name as ConfigName].what, w?.id ?? '–', w ? f(medianPassMs(w)) : '–', base ? f(medianPassMs(base)) : '–',
      x(w && base && medianPassMs(w) / medianPassMs(base)), e.error ?? ''])];
  });
  if (!rows.length) return [];
  return ['Configurations (each its own process; time over the default\'s, below 1.00× is faster):', '',
    ...table(['configuration', 'what', 'workload', 'ms per pass', 'default ms', '× default', 'error']), ...rows];
}
