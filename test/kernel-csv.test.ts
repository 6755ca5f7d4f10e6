// The profile's reading of ncu's CSV (bench/kernel-csv.ts): the first GPU run's kernel table read
// 0.0 ms for every kernel, its times taken for nanoseconds.
import { describe, expect, it } from 'vitest';
import { ncuKernelTimes } from '../bench/kernel-csv.js';

const report = (unit: string) => [
  '"ID","Kernel Name","gpu__time_duration.sum"',
  `"","","${unit}"`,
  '"0","void mul_mat_q<8, 128, 0>(const char *, int)","52.35"',
  '"1","flash_attn_ext_f16","1,204.50"',
  '"2","void mul_mat_q<8, 128, 0>(const char *, int)","47.65"',
].join('\n');

describe("ncu's kernel times", () => {
  it('reads each unit spelling, in full or short, and sums launches by kernel', () => {
    for (const [unit, ns] of [['usecond', 1e3], ['us', 1e3], ['nsecond', 1], ['ns', 1], ['msecond', 1e6], ['ms', 1e6]] as const) {
      const kernels = ncuKernelTimes(report(unit));
      expect(kernels).toEqual([
        { name: 'void mul_mat_q<8, 128, 0>(const char *, int)', calls: 2, ns: 100 * ns },
        { name: 'flash_attn_ext_f16', calls: 1, ns: 1204.5 * ns },
      ]);
    }
  });

  it('refuses a unit it does not know rather than guess', () => {
    expect(() => ncuKernelTimes(report('cycle'))).toThrow(/unknown time unit "cycle"/);
  });
});
