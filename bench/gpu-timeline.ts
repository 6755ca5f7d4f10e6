// Where a request's wall time goes on the GPU: from a kernel and copy trace (nsys's cuda_gpu_trace),
// how much of the request's span the GPU was busy, and how much it sat waiting for the host
// (graph building, the KQ mask, batch bookkeeping between llama_decode calls). Issue 9 measured
// about 10 ms of fixed cost per decode call; this tells whether that time is on the GPU or off it,
// and the CUDA API calls the host made meanwhile (nsys's cuda_api_trace) tell what it was doing:
// cudaMalloc and cudaFree from a memory pool, synchronizations, launches one by one or as graphs.

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

export interface ApiCalls {
  name: string;
  calls: number;
  ms: number;
  longestMs: number;
}

/** The calls among `rows` that start within [fromNs, toNs], by function, most time first. */
export function callsIn(rows: TraceRow[], fromNs: number, toNs: number): ApiCalls[] {
  const byName = new Map<string, ApiCalls>();
  for (const r of rows) {
    if (r.startNs < fromNs || r.startNs > toNs) continue;
    const c = byName.get(r.name) ?? { name: r.name, calls: 0, ms: 0, longestMs: 0 };
    c.calls++;
    c.ms += r.durationNs / 1e6;
    c.longestMs = Math.max(c.longestMs, r.durationNs / 1e6);
    byName.set(r.name, c);
  }
  return [...byName.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * The host's CUDA API calls during a phase of GPU rows (nsys). The host calls ahead of the GPU and
 * reads results after it, so the window reaches half a phase gap either side (the target pauses a
 * second around the request, much longer than that).
 */
export function apiCallsDuring(phase: TraceRow[], api: TraceRow[]): ApiCalls[] {
  if (phase.length === 0) return [];
  const from = Math.min(...phase.map((r) => r.startNs)) - PHASE_GAP_NS / 2;
  const to = Math.max(...phase.map((r) => r.startNs + r.durationNs)) + PHASE_GAP_NS / 2;
  return callsIn(api, from, to);
}

/** A cuda-api-trace file (bench/gpu/cuda-api-trace.c): name,start_ns,duration_ns, then a "dropped" line if its buffer filled. */
export function readApiTrace(csv: string): TraceRow[] {
  return csv.split('\n').slice(1).filter((l) => l.includes(',')).map((l) => {
    const [name, start, duration] = l.split(',');
    return { name, startNs: Number(start), durationNs: Number(duration) };
  });
}

// Calls in which the host waits for the GPU to finish what it queued (cudaMemcpy is synchronous).
const WAITS = ['cudaStreamSynchronize', 'cudaDeviceSynchronize', 'cudaEventSynchronize', 'cudaMemcpy'];
// nvcc's <<<>>> calls __cudaLaunchKernel; ggml's launches with attributes (PDL) cudaLaunchKernelExC.
const LAUNCHES = ['__cudaLaunchKernel', '__cudaLaunchKernel_ptsz', 'cudaLaunchKernel', 'cudaLaunchKernelExC'];
/** cuda-api-trace's name for a launch made while its thread captured a graph: recorded, not run. */
export const CAPTURED_LAUNCH = 'captured launch';
// ggml's legacy pool allocates with cudaMalloc; its VMM pool maps memory with the driver's calls.
const ALLOCATIONS = ['cudaMalloc', 'cudaFree', 'cudaMallocHost', 'cudaHostAlloc', 'cudaFreeHost',
  'cuMemCreate', 'cuMemRelease', 'cuMemAddressReserve', 'cuMemAddressFree', 'cuMemMap', 'cuMemUnmap', 'cuMemSetAccess'];

/** The request's wall time, the decode calls it made, and what the host spent it on. */
export function apiSummary(calls: ApiCalls[], requestMs: number, decodeCalls?: number): string {
  const sum = (names: string[], key: 'calls' | 'ms') => calls.filter((c) => names.includes(c.name)).reduce((n, c) => n + c[key], 0);
  const f = (n: number) => n.toFixed(1);
  const waitMs = sum(WAITS, 'ms');
  const perCall = decodeCalls ? ` Per decode call (${decodeCalls}): ${f(requestMs / decodeCalls)} ms, of which waiting ${f(waitMs / decodeCalls)} ms ` +
    `and ${f(sum(LAUNCHES, 'calls') / decodeCalls)} kernel launches.` : '';
  // While the host waits in a synchronization the GPU is busy: the waits bound its busy time from
  // below, and so the rest bounds from above how long it sat idle for the host. With several
  // contexts, threads wait at once, and the waits' sum bounds nothing.
  const waited = waitMs <= requestMs
    ? `The host waited for the GPU ${f(waitMs)} ms of it (synchronizations), so the GPU idled for the host at most ${f(requestMs - waitMs)} ms. `
    : `The host's threads waited for the GPU ${f(waitMs)} ms in all (synchronizations), more than the request took: several ` +
      'threads (contexts) waited at once, so this bounds no idle time of the GPU. ';
  return `The request took ${f(requestMs)} ms. ${waited}` +
    `It launched ${sum(LAUNCHES, 'calls')} kernels one by one (${f(sum(LAUNCHES, 'ms'))} ms in the launch calls), captured ` +
    `${sum([CAPTURED_LAUNCH], 'calls')} launches into CUDA graphs and replayed ${sum(['cudaGraphLaunch'], 'calls')} graphs; ` +
    `${sum(ALLOCATIONS, 'calls')} allocations, mappings or frees took ${f(sum(ALLOCATIONS, 'ms'))} ms.${perCall}`;
}

export function apiMarkdown(calls: ApiCalls[], source: string, summary?: string, top = 15): string {
  const f = (n: number) => n.toFixed(2);
  return [
    `### CUDA API calls of the host during the G100 request (${source})`, '',
    ...(summary ? [summary, ''] : []),
    'Allocations (cudaMalloc, cudaFree; cuMemCreate, cuMemMap for the VMM pool) mean a memory pool growing inside the request; ' +
      'synchronizations are the host waiting for the GPU; launches (__cudaLaunchKernel) against cudaGraphLaunch say whether ' +
      'CUDA graphs were replayed.', '',
    '| function | calls | ms | longest ms |', '| --- | --- | --- | --- |',
    ...calls.slice(0, top).map((c) => `| ${c.name} | ${c.calls} | ${f(c.ms)} | ${f(c.longestMs)} |`),
  ].join('\n') + '\n';
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
