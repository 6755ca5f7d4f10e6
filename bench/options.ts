// The benchmark's command line: `npm run bench -- [--quick] [--model PATH] [--threads N]
// [--backend cpu|auto|cuda|vulkan|metal] [--suite cpu|gpu] [--workloads IDS] [--skip-peer]
// [--configs NAMES] [--configs-everywhere] [--tokens FILE] [--tokens-only] [--baseline FILE]`.
import { availableParallelism } from 'node:os';
import { CONFIGS, ConfigName, missingLibrary } from './configs.js';

export const CPU_WORKLOADS = ['A', 'B', 'C', 'D'] as const;
/** The GPU suite: issue 9's workloads. S32 and S1 are the same pairs, as 32 requests and as one. */
export const GPU_WORKLOADS = ['G100', 'G16', 'D', 'S32', 'S1', 'T', 'L'] as const;
export type WorkloadId = (typeof CPU_WORKLOADS)[number] | (typeof GPU_WORKLOADS)[number];

export type Backend = 'cpu' | 'auto' | 'cuda' | 'vulkan' | 'metal';
export type Suite = 'cpu' | 'gpu';

export interface BenchOptions {
  quick: boolean;
  /** A real GGUF; absent: the generated 0.6B-shaped rank model. */
  model?: string;
  /** CPU threads for llama-rerank, the ceiling and the tuned peer: the cores present by default. */
  threads: number;
  backend: Backend;
  /** Which workloads: the CPU's A–D, or the GPU's larger ones (default: by backend). */
  suite: Suite;
  workloads: WorkloadId[];
  skipPeer: boolean;
  /** llama-rerank again under other settings (llama.cpp's env knobs, load options), on G100 (bench/configs.ts). */
  configs: ConfigName[];
  /** The configurations on every workload, not G100's alone: a candidate default, measured where the default is. */
  configsEverywhere: boolean;
  /** Where to write the token ids of every pair, for the PyTorch baseline (bench/baselines/). */
  tokensFile?: string;
  /** Write the tokens and stop: no timing. */
  tokensOnly: boolean;
  /** The PyTorch baseline's JSON output, printed beside the run's figures. */
  baselineFile?: string;
}

const USAGE =
  'usage: npm run bench -- [--quick] [--model PATH] [--threads N] [--backend cpu|auto|cuda|vulkan|metal] [--suite cpu|gpu] ' +
  '[--workloads IDS] [--skip-peer] [--configs NAMES] [--configs-everywhere] [--tokens FILE] [--tokens-only] [--baseline FILE]';

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    quick: false, threads: availableParallelism(), backend: 'cpu', suite: 'cpu', workloads: [], skipPeer: false, configs: [], configsEverywhere: false, tokensOnly: false,
  };
  let suite: Suite | undefined;
  let workloads: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--quick') o.quick = true;
    else if (flag === '--skip-peer') o.skipPeer = true;
    else if (flag === '--tokens-only') o.tokensOnly = true;
    else if (flag === '--configs-everywhere') o.configsEverywhere = true;
    else if (flag === '--model') o.model = value();
    else if (flag === '--tokens') o.tokensFile = value();
    else if (flag === '--baseline') o.baselineFile = value();
    else if (flag === '--threads') o.threads = positiveInt(flag, value());
    else if (flag === '--backend') o.backend = oneOf(flag, value(), ['cpu', 'auto', 'cuda', 'vulkan', 'metal'] as const);
    else if (flag === '--suite') suite = oneOf(flag, value(), ['cpu', 'gpu'] as const);
    else if (flag === '--workloads') workloads = list(value());
    else if (flag === '--configs') o.configs = list(value()).map((c) => oneOf(flag, c, Object.keys(CONFIGS) as ConfigName[]));
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  // A GPU backend named gets the GPU suite; `--suite gpu` runs it anywhere (a quick check on a CPU).
  o.suite = suite ?? (o.backend === 'cpu' || o.backend === 'auto' ? 'cpu' : 'gpu');
  const ids: readonly WorkloadId[] = o.suite === 'cpu' ? CPU_WORKLOADS : GPU_WORKLOADS;
  o.workloads = workloads ? workloads.map((w) => oneOf('--workloads', w.toUpperCase(), ids)) : [...ids];
  const missing = missingLibrary(o.configs);
  if (missing) throw new Error(missing);
  if (o.tokensOnly && !o.tokensFile) throw new Error(`--tokens-only needs --tokens FILE\n${USAGE}`);
  return o;
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag}: expected one of ${allowed.join(', ')}, got ${v}`);
  return v as T;
}
