// Command-line parsing shared by the subcommands: node:util's parseArgs, with its errors and ours
// turned into UsageError (exit code 2) and the model-loading flags every subcommand takes.
import { ParseArgsConfig, parseArgs } from 'node:util';
import type { GpuOption, LoadOptions } from '../types.js';

/** A mistake on the command line: the message and the usage are printed, the exit code is 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export const LOAD_FLAGS = {
  model: { type: 'string', short: 'm' },
  gpu: { type: 'string' },
  'gpu-layers': { type: 'string' },
  threads: { type: 'string' },
  'max-length': { type: 'string' },
} as const satisfies Options;

export const LOAD_USAGE = `  -m, --model M           a GGUF file or a known model name (e.g. qwen/qwen3-reranker-0.6b)
      --gpu G             auto (default), cpu, cuda, vulkan, metal
      --gpu-layers N      layers to offload (default: all)
      --threads N         CPU threads (default: all)
      --max-length N      longest pair in tokens (default 8192)`;

type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

export function parse<T extends Options>(argv: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** An integer flag of at least `min`, or undefined when absent. */
export function integerFlag(value: string | boolean | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  return n;
}

type LoadValues = { [K in keyof typeof LOAD_FLAGS]?: string | boolean };

export function requireModel(values: LoadValues): string {
  if (typeof values.model !== 'string' || values.model === '') throw new UsageError('--model is required');
  return values.model;
}

/** Load options from the flags; absent flags leave the library's defaults. */
export function loadOptions(values: LoadValues): Omit<LoadOptions, 'model'> {
  const options: Omit<LoadOptions, 'model'> = {};
  if (typeof values.gpu === 'string') options.gpu = values.gpu as GpuOption;
  const gpuLayers = integerFlag(values['gpu-layers'], 'gpu-layers', 0);
  const threads = integerFlag(values.threads, 'threads');
  const maxLength = integerFlag(values['max-length'], 'max-length');
  if (gpuLayers !== undefined) options.gpuLayers = gpuLayers;
  if (threads !== undefined) options.threads = threads;
  if (maxLength !== undefined) options.maxLength = maxLength;
  return options;
}
