// The run as markdown: the headline table (what the README shows), then every engine's figures.
import { baselineTable, configTable, decodeTable } from './breakdown.js';
import type { WorkloadResult } from './measure.js';
import { BenchReport, LLAMA_RERANK, find } from './results.js';

const f = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const ms = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));
const x = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(2)}×`);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

/** Others' CPU during the kept passes, in cores, and how many passes were timed again. */
function otherLoad(w: WorkloadResult): string {
  const load = w.othersCpuMs === undefined ? '–' : f(w.othersCpuMs / w.wallMs, 2);
  return w.redone ? `${load} (${w.redone} pass${w.redone > 1 ? 'es' : ''} redone)` : load;
}

export function markdown(r: BenchReport): string {
  const m = r.machine;
  const ours = r.engines.find((e) => e.label === LLAMA_RERANK);
  const out: string[] = [
    `### ${r.date} — ${r.backend}${r.quick ? ' (--quick: fewer documents and passes)' : ''}`,
    '',
    `${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node} (${m.platform})` +
      `${m.gpus?.length ? `; GPU ${m.gpus.join(', ')}` : ''}${m.devices?.length ? `; model on ${m.devices.join(', ')}` : ''}. Model: ${r.model.file} (${r.model.description}, ${r.model.kind}` +
      `${r.model.generated ? ', generated: random weights with the real shape' : ''}). \`${r.command}\`${r.revision ? ` at ${r.revision}` : ''}.`,
    '',
    row(['workload', 'llama-rerank pairs/s', 'node-llama-cpp pairs/s', '× peer', 'prompt tok/s', 'computed tok/s',
      'prompt ÷ ceiling', 'computed ÷ ceiling', 'p50 / p95 ms']),
    row(Array(9).fill('---')),
  ];
  for (const h of r.headline) {
    const w = find(ours, h.workload)!;
    const spec = r.workloads.find((s) => s.id === h.workload)!;
    out.push(row([`${h.workload}: ${spec.title}`, f(h.pairsPerSec, 2), h.peer ? f(h.peer.pairsPerSec, 2) : '–', x(h.peer?.ratio),
      f(w.promptTokensPerSec, 0), f(w.computedTokensPerSec, 0), x(h.promptVsCeiling), x(h.computedVsCeiling),
      `${ms(w.p50Ms)} / ${ms(w.p95Ms)}`]));
  }
  if (r.ceiling) {
    out.push('', `Ceiling: ${f(r.ceiling.tokensPerSec, 0)} tok/s, the same build's raw prompt processing ` +
      `(${r.ceiling.sequences} single sequences of ${r.ceiling.sequenceTokens} tokens, one decode call each, nothing else).`);
  }
  out.push('', row(['engine', 'workload', 'pairs/s', 'prompt tok/s', 'computed tok/s', 'p50 ms', 'p95 ms', 'requests', 'pairs',
    'other CPU load']), row(Array(10).fill('---')));
  for (const e of r.engines) {
    for (const w of e.workloads) {
      out.push(row([e.label, w.id, f(w.pairsPerSec, 2), f(w.promptTokensPerSec, 0), f(w.computedTokensPerSec, 0),
        ms(w.p50Ms), ms(w.p95Ms), w.requests, w.pairs, otherLoad(w)]));
    }
  }
  out.push('', row(['engine', 'threads', 'backend', 'context', 'flash attention', 'weights', 'load s', 'warm-up s', 'peak RSS MB', 'error']),
    row(Array(10).fill('---')));
  for (const e of r.engines) {
    const s = e.settings;
    out.push(row([e.label, String(s.threads ?? '–'), String(s.backend ?? '–'), String(s.contextSize ?? '–'),
      String(s.flashAttention ?? '–'), String(s.weights ?? '–'), f(e.loadMs / 1000), f(e.warmupMs / 1000), e.peakRssMB, e.error ?? '']));
  }
  for (const section of [baselineTable(r), decodeTable(r), configTable(r)]) if (section.length) out.push('', ...section);
  if (r.notes.length) out.push('', ...r.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}
