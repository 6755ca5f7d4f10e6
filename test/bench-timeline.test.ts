// The GPU profile's busy/idle split: the request's phase is found in a whole-process trace, and
// idle time is the span less what kernels and copies covered.
import { describe, expect, it } from 'vitest';
import { TraceRow, busiestPhase, timeline } from '../bench/gpu-timeline.js';

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
});
