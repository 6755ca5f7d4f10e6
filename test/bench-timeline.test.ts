// The GPU profile's busy/idle split: the request's phase is found in a whole-process trace, and
// idle time is the span less what kernels and copies covered.
import { describe, expect, it } from 'vitest';
import { TraceRow, apiCallsDuring, busiestPhase, timeline } from '../bench/gpu-timeline.js';

const us = 1e3;
const ms = 1e6;

/** n kernels of `each` ns, back to back but for `gap` ns after every `every`-th, from `at`. */
function kernels(at: number, n: number, each: number, gap = 0, every = Infinity): TraceRow[] {
  const rows: TraceRow[] = [];
  let t = at;
  for (let i = 0; i < n; i++) {
    rows.push({ startNs: t, durationNs: each, name: `k${i % 3}` });
    t += each + ((i + 1) % every === 0 ? gap : 0);
  }
  return rows;
}

describe('GPU timeline', () => {
  it('picks the request among load and warm-up, and splits its span into busy and idle', () => {
    const load = kernels(0, 5, 10 * us);
    const warmUp = kernels(2000 * ms, 20, 50 * us);
    // 100 kernels of 100 µs, a 1 ms wait after every 10th (9 waits inside the span), and an upload
    // of 200 µs that overlaps the first kernel by half
    const request = kernels(4000 * ms, 100, 100 * us, 1 * ms, 10);
    const upload = { startNs: 4000 * ms - 100 * us, durationNs: 200 * us, name: '[CUDA memcpy Host-to-Device]' };
    const phase = busiestPhase([...warmUp, upload, ...load, ...request]);
    expect(phase).toHaveLength(101);
    const t = timeline(phase);
    expect(t.kernels).toBe(100);
    expect(t.copies).toBe(1);
    expect(t.kernelMs).toBeCloseTo(10, 9);
    expect(t.copyMs).toBeCloseTo(0.2, 9);
    expect(t.spanMs).toBeCloseTo(0.1 + 10 + 9, 9); // the upload starts 100 µs early
    expect(t.idleMs).toBeCloseTo(9, 9);
    expect(t.gaps.count).toBe(9);
    expect(t.gaps.ms).toBeCloseTo(9, 9);
    expect(t.gaps.longestMs).toHaveLength(5);
  });

  it('an empty trace is an empty timeline', () => {
    expect(timeline(busiestPhase([]))).toMatchObject({ kernels: 0, spanMs: 0, idleMs: 0, gaps: { count: 0 } });
  });

  it("counts the host's CUDA calls around the request only, by function, most time first", () => {
    const load = kernels(0, 5, 10 * us);
    const request = kernels(4000 * ms, 100, 100 * us);
    const api: TraceRow[] = [
      { startNs: 1 * ms, durationNs: 40 * ms, name: 'cudaMalloc' }, // loading: not the request's
      { startNs: 3999 * ms, durationNs: 3 * ms, name: 'cudaMalloc' }, // just before its first kernel
      { startNs: 4005 * ms, durationNs: 2 * ms, name: 'cudaMalloc' },
      ...Array.from({ length: 100 }, (_, i) => ({ startNs: 4000 * ms + i * 100 * us, durationNs: 5 * us, name: 'cudaLaunchKernel' })),
      { startNs: 4011 * ms, durationNs: 1 * ms, name: 'cudaStreamSynchronize' }, // reading the scores after the last kernel
      { startNs: 6000 * ms, durationNs: 9 * ms, name: 'cudaFree' }, // dispose, a second later
    ];
    const calls = apiCallsDuring(busiestPhase([...load, ...request]), api);
    expect(calls.map((c) => c.name)).toEqual(['cudaMalloc', 'cudaStreamSynchronize', 'cudaLaunchKernel']);
    expect(calls[0]).toMatchObject({ calls: 2 });
    expect(calls[0].ms).toBeCloseTo(5, 9);
    expect(calls[0].longestMs).toBeCloseTo(3, 9);
    expect(calls[2]).toMatchObject({ calls: 100 });
    expect(calls[2].ms).toBeCloseTo(0.5, 9);
    expect(apiCallsDuring([], api)).toEqual([]);
  });
});
