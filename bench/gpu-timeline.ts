// Where a request's wall time goes on the GPU: from a kernel and copy trace (nsys's cuda_gpu_trace),
// how much of the request's span the GPU was busy, and how much it sat waiting for the host
// (graph building, the KQ mask, batch bookkeeping between llama_decode calls). Issue 9 measured
// about 10 ms of fixed cost per decode call; this tells whether that time is on the GPU or off it.

export interface TraceRow {
  startNs: number;
  durationNs: number;
  name: string;
}

export interface Timeline {
  kernels: number;
  copies: number; // memcpy and memset rows
  spanMs: number; // first start to last end
  kernelMs: number;
  copyMs: number;
  idleMs: number; // span less the union of all rows: the GPU waiting for the host
  /** Idle gaps of 50 µs or more between rows: how many, their sum, and the longest few. */
  gaps: { count: number; ms: number; longestMs: number[] };
}

/** Rows apart by this much or more are different phases of the target (load, warm-up, the request). */
export const PHASE_GAP_NS = 300e6;
const GAP_NS = 50e3;

const isCopy = (name: string) => /memcpy|memset/i.test(name);

/** The phase with the most kernels: the profiled request (the target pauses around it). */
export function busiestPhase(rows: TraceRow[]): TraceRow[] {
  const sorted = [...rows].sort((a, b) => a.startNs - b.startNs);
  const phases: TraceRow[][] = [];
  let end = -Infinity;
  for (const row of sorted) {
    if (row.startNs - end >= PHASE_GAP_NS || phases.length === 0) phases.push([]);
    phases[phases.length - 1].push(row);
    end = Math.max(end, row.startNs + row.durationNs);
  }
  const kernels = (phase: TraceRow[]) => phase.filter((r) => !isCopy(r.name)).length;
  return phases.reduce((best, p) => (kernels(p) > kernels(best) ? p : best), phases[0] ?? []);
}

export function timeline(phase: TraceRow[]): Timeline {
  const rows = [...phase].sort((a, b) => a.startNs - b.startNs);
  let busyNs = 0;
  let kernelNs = 0;
  let copyNs = 0;
  const gaps: number[] = [];
  let end = rows.length > 0 ? rows[0].startNs : 0;
  for (const r of rows) {
    if (isCopy(r.name)) copyNs += r.durationNs;
    else kernelNs += r.durationNs;
    if (r.startNs - end >= GAP_NS) gaps.push(r.startNs - end);
    const from = Math.max(r.startNs, end);
    const to = r.startNs + r.durationNs;
    if (to > from) busyNs += to - from;
    end = Math.max(end, to);
  }
  const spanNs = rows.length > 0 ? end - rows[0].startNs : 0;
  const ms = (ns: number) => ns / 1e6;
  return {
    kernels: rows.filter((r) => !isCopy(r.name)).length,
    copies: rows.filter((r) => isCopy(r.name)).length,
    spanMs: ms(spanNs),
    kernelMs: ms(kernelNs),
    copyMs: ms(copyNs),
    idleMs: ms(spanNs - busyNs),
    gaps: {
      count: gaps.length,
      ms: ms(gaps.reduce((a, b) => a + b, 0)),
      longestMs: gaps.sort((a, b) => b - a).slice(0, 5).map(ms),
    },
  };
}

export function timelineMarkdown(t: Timeline, requestMs?: number): string {
  const f = (n: number) => n.toFixed(1);
  return [
    '### GPU busy and idle during the G100 request (nsys trace)', '',
    `${t.kernels} kernels and ${t.copies} copies over ${f(t.spanMs)} ms from the first to the last` +
      (requestMs !== undefined ? ` (the request took ${f(requestMs)} ms in JS)` : '') + '.',
    `GPU busy ${f(t.spanMs - t.idleMs)} ms (${f((100 * (t.spanMs - t.idleMs)) / Math.max(t.spanMs, 1e-9))}%: kernels ${f(t.kernelMs)} ms, ` +
      `copies ${f(t.copyMs)} ms); idle ${f(t.idleMs)} ms, waiting for the host.`,
    `${t.gaps.count} idle gaps of 50 µs or more, ${f(t.gaps.ms)} ms in all; the longest: ${t.gaps.longestMs.map(f).join(', ') || 'none'} ms.`,
  ].join('\n') + '\n';
}
