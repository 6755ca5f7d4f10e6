// The benchmark's command line: `npm run bench -- [--quick] [--model PATH] [--threads N]
// [--backend cpu|auto] [--workloads A,B,C,D] [--skip-peer]`.
import { availableParallelism } from 'node:os';

export type WorkloadId = 'A' | 'B' | 'C' | 'D';
export const WORKLOAD_IDS: WorkloadId[] = ['A', 'B', 'C', 'D'];

export interface BenchOptions {
  quick: boolean;
  /** A real GGUF; absent: the generated 0.6B-shaped rank model. */
  model?: string;
  /** CPU threads for llama-rerank, the ceiling and the tuned peer: the cores present by default. */
  threads: number;
  backend: 'cpu' | 'auto';
  workloads: WorkloadId[];
  skipPeer: boolean;
}

const USAGE =
  'usage: npm run bench -- [--quick] [--model PATH] [--threads N] [--backend cpu|auto] [--workloads A,B,C,D] [--skip-peer]';

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = { quick: false, threads: availableParallelism(), backend: 'cpu', workloads: WORKLOAD_IDS, skipPeer: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--quick') o.quick = true;
    else if (flag === '--skip-peer') o.skipPeer = true;
    else if (flag === '--model') o.model = value();
    else if (flag === '--threads') o.threads = positiveInt(flag, value());
    else if (flag === '--backend') o.backend = oneOf(flag, value(), ['cpu', 'auto'] as const);
    else if (flag === '--workloads') o.workloads = value().split(',').map((w) => oneOf(flag, w.trim().toUpperCase(), WORKLOAD_IDS));
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return o;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag}: expected one of ${allowed.join(', ')}, got ${v}`);
  return v as T;
}
