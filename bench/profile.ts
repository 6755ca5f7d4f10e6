// The optional profiling pass of a GPU run, on one G100 request:
// - with --api-trace LIB (bench/gpu/cuda-api-trace.c, built): the host's CUDA runtime calls inside
//   the request, by function (allocations, synchronizations, kernel and graph launches), from a
//   preloaded library: what Nsight Systems would show, on machines where it does not run;
// - then, unless --no-kernels, the GPU time per kernel under Nsight Systems (nsys, every kernel of
//   the run, and the GPU's busy and idle time) or, without it, Nsight Compute (ncu, a window of
//   kernels inside the request: ncu serializes and times each kernel, too slow for all of them);
//   skipped (and says so) when neither tool is on the PATH.
//   node dist/bench/profile.js --backend cuda --out profile.md [--api-trace LIB] [--no-kernels] [--kernels 1500]
// The target (the profiled process) is this script with --target.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Reranker } from '../lib/index.js';
import { ensureTestModel } from '../test-models/generate.js';
import { TraceRow, apiCallsDuring, apiMarkdown, apiSummary, busiestPhase, callsIn, readApiTrace, timeline, timelineMarkdown } from './gpu-timeline.js';
import { Kernel, fields, ncuKernelTimes } from './kernel-csv.js';
import { buildWorkloads } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const backend = (flag('--backend') ?? 'cuda') as 'cuda' | 'vulkan';
const model = ensureTestModel({ shape: '0.6b', kind: 'rank', seed: 1 });

/** What the target writes to --timing: the request's wall time and window, and its decode calls. */
interface Timing {
  ms: number;
  /** CLOCK_MONOTONIC, as process.hrtime and cuda-api-trace's timestamps. */
  startNs: number;
  endNs: number;
  decodeCalls?: number;
  /** The target's: cuda-api-trace writes its file with the pid appended. */
  pid: number;
}

/**
 * Loads the model, warms up on one short pair, then reranks one G100 request, pausing around it so
 * that its kernels stand apart in the trace; writes its Timing to --timing.
 */
async function target(): Promise<void> {
  const r = await Reranker.load({ model, gpu: backend });
  const [g100] = await buildWorkloads('gpu', ['G100'], false, async (t) => (await r.tokenize(t)).length);
  await r.rerank({ query: 'warm up', documents: ['warm up'] });
  await delay(1000);
  const callsBefore = r.stats.decodeCalls;
  const t0 = process.hrtime.bigint();
  await r.rerank(g100.requests[0]);
  const t1 = process.hrtime.bigint();
  const callsAfter = r.stats.decodeCalls;
  const timing: Timing = {
    ms: Number(t1 - t0) / 1e6, startNs: Number(t0), endNs: Number(t1), pid: process.pid,
    decodeCalls: callsBefore !== undefined && callsAfter !== undefined ? callsAfter - callsBefore : undefined,
  };
  console.error(`profile target: G100 took ${timing.ms.toFixed(0)} ms in ${timing.decodeCalls ?? '?'} decode calls`);
  const file = flag('--timing');
  if (file) writeFileSync(file, JSON.stringify(timing));
  await delay(1000);
  r.dispose();
}

const readTiming = (file: string): Timing | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Timing) : undefined);

/** The target under the preloaded tracer: the host's CUDA calls inside the G100 request. */
function apiTrace(library: string, self: string[], timingFile: string, base: string): string {
  const csv = `${base}.api.csv`; // each traced process writes csv.<its pid>: the target, its backend probe
  const traces = () => readdirSync(dirname(csv)).filter((f) => f.startsWith(`${basename(csv)}.`)).map((f) => join(dirname(csv), f));
  try {
    execFileSync(self[0], self.slice(1), { stdio: 'inherit', env: { ...process.env, LD_PRELOAD: library, LLAMA_RERANK_CUDA_TRACE: csv } });
  } catch (e) {
    for (const f of traces()) rmSync(f, { force: true });
    throw e;
  }
  const written = traces();
  const timing = readTiming(timingFile);
  const mine = timing && written.find((f) => f === `${csv}.${timing.pid}`);
  const rows = mine ? readApiTrace(readFileSync(mine, 'utf8')) : undefined;
  for (const f of written) rmSync(f, { force: true });
  if (!timing || !rows) return 'CUDA API calls: the traced target wrote no timing or no trace.\n';
  const dropped = rows.find((r) => r.name === 'dropped');
  const calls = callsIn(rows, timing.startNs, timing.endNs);
  return apiMarkdown(calls, 'cuda-api-trace, preloaded', apiSummary(calls, timing.ms, timing.decodeCalls)) +
    (dropped ? `\n${dropped.durationNs} calls were not recorded (the tracer's buffer was full).\n` : '');
}

const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function nsysKernels(report: string): Kernel[] {
  const csv = execFileSync('nsys', ['stats', '--report', 'cuda_gpu_kern_sum', '--format', 'csv', report], { encoding: 'utf8' });
  const lines = csv.split('\n').filter((l) => l.includes(','));
  const head = fields(lines[0]);
  const [total, calls, name] = ['Total Time (ns)', 'Instances', 'Name'].map((h) => head.indexOf(h));
  return lines.slice(1).map(fields).map((f) => ({ name: f[name], calls: Number(f[calls]), ns: Number(f[total]) }));
}

/**
 * Rows of an nsys trace report with their starts: cuda_gpu_trace (every kernel, copy and memset on
 * the GPU) or cuda_api_trace (every CUDA call of the host).
 */
function nsysTrace(report: string, kind: 'cuda_gpu_trace' | 'cuda_api_trace'): TraceRow[] {
  const csv = execFileSync('nsys', ['stats', '--report', kind, '--format', 'csv', report], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const lines = csv.split('\n').filter((l) => l.includes(','));
  const head = fields(lines[0]);
  const [start, duration, name] = ['Start (ns)', 'Duration (ns)', 'Name'].map((h) => head.indexOf(h));
  if (start < 0 || duration < 0 || name < 0) throw new Error(`nsys ${kind}: unexpected columns ${head.join(', ')}`);
  return lines.slice(1).map(fields).map((f) => ({ startNs: Number(f[start]), durationNs: Number(f[duration]), name: f[name] }));
}

function ncuKernels(report: string): Kernel[] {
  return ncuKernelTimes(execFileSync('ncu', ['--import', report, '--csv', '--page', 'raw', '--metrics', 'gpu__time_duration.sum'],
    { encoding: 'utf8', maxBuffer: 1 << 28 }));
}

function markdown(tool: string, what: string, kernels: Kernel[]): string {
  const total = kernels.reduce((n, k) => n + k.ns, 0);
  const top = [...kernels].sort((a, b) => b.ns - a.ns).slice(0, 25);
  const short = (s: string) => (s.length > 90 ? `${s.slice(0, 87)}...` : s).replace(/\|/g, '\\|');
  return [
    `### GPU time per kernel: one G100 request, ${tool}`, '', what, '',
    `${kernels.reduce((n, k) => n + k.calls, 0)} kernel launches, ${(total / 1e6).toFixed(1)} ms of kernel time in all.`, '',
    '| kernel | launches | ms | share | µs per launch |', '| --- | --- | --- | --- | --- |',
    ...top.map((k) => `| ${short(k.name)} | ${k.calls} | ${(k.ns / 1e6).toFixed(2)} | ${((100 * k.ns) / total).toFixed(1)}% | ${(k.ns / k.calls / 1e3).toFixed(1)} |`),
  ].join('\n') + '\n';
}

async function profile(): Promise<void> {
  const out = flag('--out') ?? 'profile.md';
  const base = join(tmpdir(), `llama-rerank-profile-${process.pid}`);
  const timing = `${base}.timing.json`;
  const self = [process.execPath, process.argv[1], '--target', '--backend', backend, '--timing', timing];
  const preload = flag('--api-trace');
  // the GPU run profiles both builds of the CUDA library (bench/gpu/README.md): say which this was
  let text = `CUDA library: ${process.env.LLAMA_RERANK_BACKEND_PATH ?? "the addon's own"}\n\n`;
  if (preload) {
    try {
      text += apiTrace(preload, self, timing, base) + '\n';
    } catch (e) {
      text += `CUDA API trace: failed (${(e as Error).message.split('\n')[0]}).\n\n`;
    }
    writeFileSync(out, text); // kept if the kernel profile below runs past the step's time limit
  }
  if (args.includes('--no-kernels')) {
    // the API trace alone
  } else if (onPath('nsys')) {
    execFileSync('nsys', ['profile', '--force-overwrite', 'true', '--trace', 'cuda', '-o', base, ...self], { stdio: 'inherit' });
    text += markdown('nsys', 'Every kernel of the process: loading, a one-pair warm-up, then the G100 request.', nsysKernels(`${base}.nsys-rep`));
    const request = busiestPhase(nsysTrace(`${base}.nsys-rep`, 'cuda_gpu_trace'));
    text += '\n' + timelineMarkdown(timeline(request), readTiming(timing)?.ms);
    try {
      if (!preload) text += '\n' + apiMarkdown(apiCallsDuring(request, nsysTrace(`${base}.nsys-rep`, 'cuda_api_trace')), 'nsys');
    } catch (e) {
      text += `\nCUDA API calls: not read (${(e as Error).message.split('\n')[0]}).\n`;
    }
  } else if (onPath('ncu')) {
    // Past loading and the warm-up (about 2,000 launches: two decode calls of 28 layers), a window inside G100.
    const skip = Number(flag('--skip') ?? 3000);
    const count = Number(flag('--kernels') ?? 1500);
    execFileSync('ncu', ['--metrics', 'gpu__time_duration.sum', '--clock-control', 'none', '--cache-control', 'none', '--launch-skip', String(skip),
      '--launch-count', String(count), '--export', base, '--force-overwrite', ...self], { stdio: 'inherit' });
    if (!existsSync(`${base}.ncu-rep`)) throw new Error('ncu wrote no report');
    text += markdown('ncu', `Kernels ${skip} to ${skip + count} of the process (inside the G100 request), each timed alone ` +
      '(ncu serializes kernels: launch gaps are not in these figures).', ncuKernels(`${base}.ncu-rep`));
  } else {
    text += 'Kernel profile skipped: neither nsys nor ncu is on the PATH.\n';
  }
  rmSync(timing, { force: true });
  writeFileSync(out, text);
  console.log(text);
}

await (args.includes('--target') ? target() : profile());
