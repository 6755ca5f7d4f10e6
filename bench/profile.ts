// The optional profiling pass of a GPU run: one G100 request under Nsight Systems (nsys, every
// kernel of the run) or, without it, Nsight Compute (ncu, a window of kernels inside the G100
// request: ncu serializes and times each kernel, too slow for all of them). Writes the GPU time
// per kernel name as markdown; skipped (and says so) when neither tool is on the PATH.
//   node dist/bench/profile.js --backend cuda --out profile.md [--kernels 1500]
// The target (the profiled process) is this script with --target.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Reranker } from '../lib/index.js';
import { ensureTestModel } from '../test-models/generate.js';
import { TraceRow, busiestPhase, timeline, timelineMarkdown } from './gpu-timeline.js';
import { buildWorkloads } from './workloads.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const backend = (flag('--backend') ?? 'cuda') as 'cuda' | 'vulkan';
const model = ensureTestModel({ shape: '0.6b', kind: 'rank', seed: 1 });

/**
 * Loads the model, warms up on one short pair, then reranks one G100 request, pausing around it so
 * that its kernels stand apart in the trace; writes the request's time to --timing.
 */
async function target(): Promise<void> {
  const r = await Reranker.load({ model, gpu: backend });
  const [g100] = await buildWorkloads('gpu', ['G100'], false, async (t) => (await r.tokenize(t)).length);
  await r.rerank({ query: 'warm up', documents: ['warm up'] });
  await delay(1000);
  const t0 = performance.now();
  await r.rerank(g100.requests[0]);
  const ms = performance.now() - t0;
  console.error(`profile target: G100 took ${ms.toFixed(0)} ms (under the profiler)`);
  const timing = flag('--timing');
  if (timing) writeFileSync(timing, String(ms));
  await delay(1000);
  r.dispose();
}

const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

interface Kernel { name: string; calls: number; ns: number }

/** A CSV line's fields (quoted fields may hold commas and doubled quotes). */
export function fields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') cur += line[++i];
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur.replace(/\r$/, ''));
  return out;
}

function nsysKernels(report: string): Kernel[] {
  const csv = execFileSync('nsys', ['stats', '--report', 'cuda_gpu_kern_sum', '--format', 'csv', report], { encoding: 'utf8' });
  const lines = csv.split('\n').filter((l) => l.includes(','));
  const head = fields(lines[0]);
  const [total, calls, name] = ['Total Time (ns)', 'Instances', 'Name'].map((h) => head.indexOf(h));
  return lines.slice(1).map(fields).map((f) => ({ name: f[name], calls: Number(f[calls]), ns: Number(f[total]) }));
}

/** Every kernel, copy and memset of the process, with its start (nsys's cuda_gpu_trace). */
function nsysTrace(report: string): TraceRow[] {
  const csv = execFileSync('nsys', ['stats', '--report', 'cuda_gpu_trace', '--format', 'csv', report], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const lines = csv.split('\n').filter((l) => l.includes(','));
  const head = fields(lines[0]);
  const [start, duration, name] = ['Start (ns)', 'Duration (ns)', 'Name'].map((h) => head.indexOf(h));
  if (start < 0 || duration < 0 || name < 0) throw new Error(`nsys cuda_gpu_trace: unexpected columns ${head.join(', ')}`);
  return lines.slice(1).map(fields).map((f) => ({ startNs: Number(f[start]), durationNs: Number(f[duration]), name: f[name] }));
}

const UNIT_NS: Record<string, number> = { nsecond: 1, usecond: 1e3, msecond: 1e6, second: 1e9 };

function ncuKernels(report: string): Kernel[] {
  const csv = execFileSync('ncu', ['--import', report, '--csv', '--page', 'raw', '--metrics', 'gpu__time_duration.sum'],
    { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = csv.split('\n').filter((l) => l.startsWith('"'));
  const head = fields(lines[0]);
  const [name, time] = ['Kernel Name', 'gpu__time_duration.sum'].map((h) => head.indexOf(h));
  const unit = UNIT_NS[fields(lines[1])[time]] ?? 1;
  const byName = new Map<string, Kernel>();
  for (const f of lines.slice(2).map(fields)) {
    const k = byName.get(f[name]) ?? { name: f[name], calls: 0, ns: 0 };
    k.calls++;
    k.ns += Number(f[time].replace(/,/g, '')) * unit;
    byName.set(f[name], k);
  }
  return [...byName.values()];
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
  const timing = `${base}.ms`;
  const self = [process.execPath, process.argv[1], '--target', '--backend', backend, '--timing', timing];
  let text: string;
  if (onPath('nsys')) {
    execFileSync('nsys', ['profile', '--force-overwrite', 'true', '--trace', 'cuda', '-o', base, ...self], { stdio: 'inherit' });
    text = markdown('nsys', 'Every kernel of the process: loading, a one-pair warm-up, then the G100 request.', nsysKernels(`${base}.nsys-rep`));
    const requestMs = existsSync(timing) ? Number(readFileSync(timing, 'utf8')) : undefined;
    text += '\n' + timelineMarkdown(timeline(busiestPhase(nsysTrace(`${base}.nsys-rep`))), requestMs);
    rmSync(timing, { force: true });
  } else if (onPath('ncu')) {
    // Past loading and the warm-up (about 2,000 launches: two decode calls of 28 layers), a window inside G100.
    const skip = Number(flag('--skip') ?? 3000);
    const count = Number(flag('--kernels') ?? 1500);
    execFileSync('ncu', ['--metrics', 'gpu__time_duration.sum', '--clock-control', 'none', '--cache-control', 'none', '--launch-skip', String(skip),
      '--launch-count', String(count), '--export', base, '--force-overwrite', ...self], { stdio: 'inherit' });
    if (!existsSync(`${base}.ncu-rep`)) throw new Error('ncu wrote no report');
    text = markdown('ncu', `Kernels ${skip} to ${skip + count} of the process (inside the G100 request), each timed alone ` +
      '(ncu serializes kernels: launch gaps are not in these figures).', ncuKernels(`${base}.ncu-rep`));
  } else {
    text = 'Profiling skipped: neither nsys nor ncu is on the PATH.\n';
  }
  writeFileSync(out, text);
  console.log(text);
}

await (args.includes('--target') ? target() : profile());
