// The parent's handle on one engine's child process (bench/child.ts): start it, time passes on it,
// collect its peak RSS. Its answers are the stdout lines that start with MARKER, in order.
import { ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../models/paths.js';
import { ChildSpec, Command, MARKER, Ready } from './child.js';
import { configEnv } from './configs.js';
import { WorkloadResult, mergeResults } from './measure.js';
import { NoisePolicy, machineBusyMs } from './noise.js';
import type { EngineResult } from './results.js';

export class EngineProcess {
  private readonly waiting: ((line: unknown) => void)[] = [];
  private readonly passes = new Map<string, WorkloadResult[]>();
  private readonly redone = new Map<string, number>();
  private readonly result: EngineResult;
  private exited = false;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>, label: string) {
    this.result = { label, settings: {}, loadMs: 0, warmupMs: 0, peakRssMB: 0, workloads: [] };
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(MARKER)) this.waiting.shift()?.(JSON.parse(line.slice(MARKER.length)));
    });
    // A child that failed to load exits at once; writing to it then must not bring the parent down.
    child.stdin.on('error', () => {});
    child.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w({ error: `the ${label} process exited (${code})` });
    });
  }

  /** Starts the child and waits until its engine is loaded and warm (or failed: see `failed`). */
  static async start(script: string, spec: ChildSpec): Promise<EngineProcess> {
    console.error(`${spec.label}: loading…`);
    const child = spawn(process.execPath, [join(packageRoot, 'dist', 'bench', script), JSON.stringify(spec)],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...(spec.config ? configEnv(spec.config) : {}) } });
    const p = new EngineProcess(child, spec.label);
    const ready = (await p.next()) as Ready;
    Object.assign(p.result, { settings: ready.settings, loadMs: ready.loadMs, warmupMs: ready.warmupMs, error: ready.error });
    return p;
  }

  get failed(): boolean {
    return this.result.error !== undefined;
  }

  get label(): string {
    return this.result.label;
  }

  /**
   * Times passes of a workload once the machine is quiet, and once more if the policy finds the
   * first timing noisy (it is then counted as redone and left out). A failure is recorded and ends
   * this engine's runs.
   */
  async run(id: string, passes: number, noise: NoisePolicy): Promise<void> {
    const tries = 2;
    for (let attempt = 0; attempt < tries && !this.failed; attempt++) {
      await noise.quiet();
      console.error(`  ${this.label}: ${id}${attempt ? ' (again: the machine was busy)' : ''}`);
      const busy0 = machineBusyMs();
      const r = (await this.ask({ id, passes })) as WorkloadResult & { error?: string };
      const busy1 = machineBusyMs();
      if (r.error) {
        this.result.error = `${id}: ${r.error}`;
        return;
      }
      if (busy0 !== undefined && busy1 !== undefined) r.othersCpuMs = Math.max(0, busy1 - busy0 - r.cpuMs);
      if (attempt + 1 < tries && noise.redo(r)) {
        this.redone.set(id, (this.redone.get(id) ?? 0) + 1);
        continue;
      }
      this.passes.set(id, [...(this.passes.get(id) ?? []), r]);
      return;
    }
  }

  /** Ends the child; the engine's figures, its passes merged per workload. */
  async close(): Promise<EngineResult> {
    if (!this.exited) {
      const end = (await this.ask({ exit: true })) as { peakRssMB?: number };
      this.result.peakRssMB = end.peakRssMB ?? 0;
    }
    this.result.workloads = [...this.passes.entries()].map(([id, parts]) => ({ ...mergeResults(parts), redone: this.redone.get(id) ?? 0 }));
    return this.result;
  }

  private ask(cmd: Command): Promise<unknown> {
    const answer = this.next();
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    return answer;
  }

  private next(): Promise<unknown> {
    if (this.exited) return Promise.resolve({ error: `the ${this.label} process has exited` });
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
