// Other work on a shared machine: with as many llama.cpp threads as cores, a process that takes a
// core stalls every decode. So a pass starts when the machine is quiet (waiting a bounded time), its
// noise is measured (the CPU time everything else used meanwhile), and a noisy pass is timed once
// more while the time spent redoing stays within a budget.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkloadResult } from './measure.js';

/** Cores' worth of CPU used by the rest of the machine above which a pass counts as noisy. */
const BUSY_CORES = 0.25;

/** CPU time the whole machine has spent busy, from /proc/stat (Linux); undefined elsewhere. */
export function machineBusyMs(): number | undefined {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + steal) * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export interface NoiseSettings {
  busyCores: number;
  maxWaitMs: number;
  redoBudgetMs: number;
}

export class NoisePolicy {
  private redoneMs = 0;

  /**
   * maxWaitMs: the longest wait for quiet before a pass; redoBudgetMs: all the passes timed again, at most;
   * sampleMs: how long the machine is watched for quiet (shorter for GPU runs' many short passes).
   */
  constructor(private readonly maxWaitMs: number, private readonly redoBudgetMs: number, private readonly sampleMs = 500) {}

  /** For the record. */
  get settings(): NoiseSettings {
    return { busyCores: BUSY_CORES, maxWaitMs: this.maxWaitMs, redoBudgetMs: this.redoBudgetMs };
  }

  /** Waits until the machine is quiet (our engines idle between passes, so all its load is others'), or maxWaitMs. */
  async quiet(): Promise<void> {
    for (let waited = 0; waited < this.maxWaitMs; waited += this.sampleMs) {
      const b0 = machineBusyMs();
      await sleep(this.sampleMs);
      const b1 = machineBusyMs();
      if (b0 === undefined || b1 === undefined || (b1 - b0) / this.sampleMs < BUSY_CORES) return;
    }
  }

  /** Whether to time a pass again: it was noisy, and the redo budget allows. */
  readonly redo = (r: WorkloadResult): boolean => {
    const noisy = r.othersCpuMs !== undefined && r.othersCpuMs / r.wallMs > BUSY_CORES;
    if (!noisy || this.redoneMs + r.wallMs > this.redoBudgetMs) return false;
    this.redoneMs += r.wallMs;
    return true;
  };
}
