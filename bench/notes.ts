// What a reader needs to read the figures right, written from the run's own numbers.
import { BenchReport, LLAMA_RERANK, find } from './results.js';

export function notes(r: BenchReport): string[] {
  const out: string[] = [];
  const m = r.machine;
  const ours = r.engines.find((e) => e.label === LLAMA_RERANK);
  const during = m.loadDuring ? `${m.loadDuring.map((l) => l.toFixed(1)).join('–')} during, ` : '';
  out.push(`Wall-clock timings on a shared machine (1-minute load average ${m.loadBefore.toFixed(2)} before, ${during}` +
    `${m.loadAfter.toFixed(2)} after; the benchmark's own threads count for about ${ours?.settings.threads ?? m.cores}): other processes add noise.`);
  const measured = r.engines.flatMap((e) => e.workloads).filter((w) => w.othersCpuMs !== undefined);
  if (measured.length) {
    out.push('Other CPU load: the cores\' worth of CPU time everything else on the machine used during a row\'s passes ' +
      `(from /proc/stat, less the engine's own); highest ${Math.max(...measured.map((w) => w.othersCpuMs! / w.wallMs)).toFixed(2)}. ` +
      `With ${ours?.settings.threads ?? m.cores} threads on ${m.cores} cores, a row above about 0.2 ran slower than the machine can.`);
  }
  if (r.noise) {
    out.push(`Passes start once the machine is quiet (waiting ${r.noise.maxWaitMs / 1000} s at most); a pass above ` +
      `${r.noise.busyCores} was timed once more and the second timing kept (${r.noise.redoBudgetMs / 1000} s of redone passes at most).`);
  }
  if (r.quick) out.push('--quick: fewer documents and passes than the full run (see workloads in the JSON); not comparable to full-run figures.');
  const peers = r.engines.filter((e) => e.label.startsWith('node-llama-cpp'));
  for (const p of peers) {
    const s = p.settings;
    out.push(`${p.label}: threads ${s.threads}, context ${s.contextSize}, batch ${s.batchSize}, flash attention ${s.flashAttention}, ` +
      `${s.buildType} binaries of release ${s.release}; workloads ${p.workloads.map((w) => w.id).join(', ') || 'none'}` +
      `${p.error ? `; failed: ${p.error}` : ''}.`);
  }
  if (peers.length) {
    out.push('The headline compares with the faster node-llama-cpp configuration on each workload. rankAll scores one ' +
      'document at a time on one sequence. Its defaults (threads 6, capped at getLlama\'s maxThreads = max(4, cores); ' +
      'context "auto", up to the 40,960-token training context) are the slowest on few cores, so they get only a few ' +
      'passes. Engines take turns pass by pass, so load from other processes falls on all of them.');
  }
  const peer = peers.find((p) => !p.error && p.workloads.length);
  const extra = peer?.workloads.map((w) => {
    const mine = find(ours, w.id);
    return mine ? { id: w.id, ratio: (w.computedTokens / w.passes) / (mine.promptTokens / mine.passes) } : undefined;
  }).find(Boolean);
  if (extra) {
    out.push(`node-llama-cpp evaluates ${((extra.ratio - 1) * 100).toFixed(1)}% more tokens than the hosted count for the same ` +
      `pairs (workload ${extra.id}): it tokenizes its template's pieces apart from the query and document. Its prompt tok/s ` +
      'uses llama-rerank\'s (hosted) count of the same pairs; computed tok/s counts what each engine evaluated.');
  }
  const deltas = (peer?.workloads ?? []).flatMap((w) => {
    const mine = find(ours, w.id)?.firstScores ?? [];
    return w.firstScores.map((s, i) => Math.abs(s - (mine[i] ?? s)));
  });
  if (deltas.length) {
    out.push(`Scores of the same pairs, llama-rerank vs node-llama-cpp: largest difference ${Math.max(...deltas).toFixed(4)} ` +
      '(the random weights make scores sensitive to the tokenization difference above; given llama-rerank\'s tokens ' +
      'through a custom template, node-llama-cpp agreed within 0.002 in a check by hand).');
  }
  const ceilingRates = (find(r.engines.find((e) => e.label === 'ceiling'), 'ceiling')?.perPass ?? []).map((p) => (p.computedTokens * 1000) / p.wallMs);
  if (ceilingRates.length > 1) {
    out.push(`The ceiling's sequences ran at ${Math.min(...ceilingRates).toFixed(0)}–${Math.max(...ceilingRates).toFixed(0)} tok/s ` +
      'in this run: the machine\'s own speed varies, beyond what /proc/stat shows. So "÷ ceiling" compares each pass of ' +
      'llama-rerank with the ceiling sequence timed in the same round, and engines are compared within rounds too.');
  }
  const s32 = find(ours, 'S32');
  const s1 = find(ours, 'S1');
  if (s32 && s1) {
    out.push(`Many small requests: S32 ran at ${(s32.pairsPerSec / s1.pairsPerSec).toFixed(2)}× the pairs/s of the same documents ` +
      'sent as one request (S1; the goal is at least 0.90×). S1 pairs every document with S32\'s first query, so its token count ' +
      'differs from S32\'s by the other queries\' few tokens.');
  }
  const t = find(ours, 'T');
  const tBase = r.baseline?.variants.lastToken?.T;
  if (t && tBase) {
    out.push(`Throughput: T (${t.requests / t.passes} concurrent requests) ran at ${t.pairsPerSec.toFixed(1)} pairs/s, the PyTorch ` +
      `last-token baseline at ${tBase.pairsPerSec.toFixed(1)} in batches of ${r.baseline!.batch} (${(t.pairsPerSec / tBase.pairsPerSec).toFixed(2)}×).`);
  }
  if (r.ceiling) {
    out.push(`Ceiling: the build's raw prompt processing, ${r.ceiling.sequences} single ${r.ceiling.sequenceTokens}-token ` +
      'sequences (llama-bench\'s pp512), one after each round of the workloads. A single sequence as long as a whole ' +
      'workload (5–20k tokens) would pay attention over all of it and run at half this rate or less: a floor, not a ' +
      'ceiling. prompt ÷ ceiling can pass 1: llama-rerank computes the instruction and query once per request.');
  }
  return out;
}
