// The frame of an engine's child process. Each engine runs in its own process so that its peak
// RSS and load time are its own. The parent (bench/run.ts) drives it over stdin, one pass at a
// time, and alternates engines pass by pass: other load on a shared machine then falls on all of
// them alike instead of on whichever engine happened to run at that moment.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Config } from './configs.js';
import { Engine, Timed, runWorkload } from './measure.js';
import type { Backend } from './options.js';
import type { Workload } from './workloads.js';

/** Lines for the parent start with this; anything else on stdout (library logs) is ignored. */
export const MARKER = 'BENCH ';

export interface ChildSpec {
  /** The row's name in the report. */
  label: string;
  model: string;
  /** Absent: the engine's own default. */
  threads?: number;
  backend: Backend;
  workloadsFile: string;
  /** llama-rerank only: measure the raw prompt-processing ceiling instead (see engine-llama-rerank). */
  ceiling?: { sequenceTokens: number };
  /** node-llama-cpp only: its context size (absent: its default, "auto"). */
  contextSize?: number;
  /** llama-rerank only: another configuration (bench/configs.ts). */
  config?: Config;
}

export interface Started {
  engine: Engine;
  /** The settings the engine actually runs with (threads, backend, context...). */
  settings: Record<string, unknown>;
}

/** Commands: `{ id, passes }` times passes of a workload; `{ exit: true }` reports peak RSS and ends. */
export type Command = { id: string; passes: number } | { exit: true };

/** The first line: the engine loaded and warmed, or why not. */
export interface Ready {
  settings: Record<string, unknown>;
  loadMs: number;
  /** The first request: it pages the weights in, so it is kept out of the timings. */
  warmupMs: number;
  error?: string;
}

export function readSpec(): ChildSpec {
  return JSON.parse(process.argv[2]) as ChildSpec;
}

export function readWorkloads(spec: ChildSpec): Workload[] {
  return JSON.parse(readFileSync(spec.workloadsFile, 'utf8')) as Workload[];
}

const send = (o: unknown) => process.stdout.write(`\n${MARKER}${JSON.stringify(o)}\n`);

export async function runChild(workloads: Timed[], start: () => Promise<Started>): Promise<void> {
  let engine: Engine;
  try {
    const t0 = performance.now();
    const started = await start();
    const loadMs = performance.now() - t0;
    engine = started.engine;
    const t1 = performance.now();
    await engine.rank({ query: 'warm up', documents: ['warm up'] });
    send({ settings: started.settings, loadMs, warmupMs: performance.now() - t1 } satisfies Ready);
  } catch (err) {
    send({ settings: {}, loadMs: 0, warmupMs: 0, error: (err as Error).message } satisfies Ready);
    process.exit(0);
  }
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as Command;
    if ('exit' in cmd) break;
    const w = workloads.find((x) => x.id === cmd.id);
    try {
      if (!w) throw new Error(`workload ${cmd.id} not found`);
      send(await runWorkload(engine, w, cmd.passes));
    } catch (err) {
      send({ error: (err as Error).message });
    }
  }
  send({ peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) });
  // Native handles may keep the event loop alive; the result is out, so leave now.
  process.exit(0);
}
