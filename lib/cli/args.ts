// Command-line parsing shared by the subcommands: node:util's parseArgs, with its errors and ours
// turned into UsageError (exit code 2) and the model-loading flags every subcommand takes.
import { fileURLToPath } from 'node:url';
import { ParseArgsConfig, parseArgs } from 'node:util';
import { RerankError } from '../errors.js';
import type { GpuOption, LoadOptions, WeightsOption } from '../types.js';
import { validateLoadOptions, validateRequest } from '../validate.js';

/**
 * A mistake in how the command was called (flags, input files, environment): the exit code is 2.
 * The usage follows the message when the mistake is in the flags.
 */
export class UsageError extends Error {
  constructor(message: string, readonly showUsage = true) {
    super(message);
  }
}

/** The command could not do its work (a port in use, stdout unwritable): one line, exit code 1. */
export class CommandError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export const LOAD_FLAGS = {
  model: { type: 'string', short: 'm' },
  gpu: { type: 'string' },
  'gpu-layers': { type: 'string' },
  threads: { type: 'string' },
  'max-length': { type: 'string' },
  weights: { type: 'string' },
  'kv-streams': { type: 'string' },
  contexts: { type: 'string' },
  'reuse-graphs': { type: 'boolean' },
  'tokenize-first': { type: 'boolean' },
} as const satisfies Options;

export const LOAD_USAGE = `  -m, --model M           a GGUF file or a known model name (e.g. qwen/qwen3-reranker-0.6b)
      --gpu G             auto (default), cpu, cuda, vulkan, metal
      --gpu-layers N      layers to offload (default: all)
      --threads N         CPU threads (default: all)
      --max-length N      longest pair in tokens (default 8192)
      --weights W         auto (serve's default: a Q8_0 file's weights in BF16, converted at
                          load, with every layer on CUDA; else stored), stored (rank's
                          default: one request would not pay for a conversion), bf16, f16:
                          a copy of the weights in that type, made once into the model cache
                          (README "Weights")
      --kv-streams N      a KV stream per pair, up to N at once, instead of one shared cache
                          (README "KV streams"; default 0: shared)
      --contexts N        contexts decoding parts of a call at once (README "Contexts";
                          default: up to 3 on CUDA, as GPU memory allows; else 1)
      --reuse-graphs      keep a large request's decode calls one shape, so llama.cpp reuses
                          their graph (README "Reused graphs"; default: off)
      --tokenize-first    tokenize a call's documents before its first decode call, instead
                          of its first pairs decoding while the rest tokenize (README
                          "Tokenizing ahead"; the default with every layer on a GPU)`;

/** -h or --help among a command's flags: its usage is printed instead (exit code 0). */
export class HelpRequested extends Error {}

type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * The command's flags, with -h/--help read as every command's flag: as a flag only, so that a value
 * such as `--query=--help` stays a value.
 */
export function parse<T extends Options>(argv: string[], options: T): Parsed<T> {
  let parsed: Parsed<T> & { values: { help?: boolean } };
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    if (argv[0] === '--help' || argv[0] === '-h') throw new HelpRequested(); // `serve --help --bogus`
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) throw new HelpRequested();
  return parsed;
}

/** An integer flag of at least `min`, or undefined when absent: decimal digits only (not "0x2", " 2 " or "1e0"). */
export function integerFlag(value: string | boolean | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  }
  return n;
}

/** Refuses positional arguments a command does not take. */
export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

/** The flag a library option or request field comes from. */
const FLAG_OF: Record<string, string> = { gpuLayers: 'gpu-layers', maxLength: 'max-length', kvStreams: 'kv-streams', query: 'query', instruction: 'instruction' };

/** The library's refusal of a flag's value, as a command-line mistake naming the flag. */
function asUsageError(err: unknown): never {
  if (err instanceof RerankError && (err.code === 'INVALID_OPTIONS' || err.code === 'INVALID_REQUEST') && err.field) {
    const flag = FLAG_OF[err.field] ?? err.field;
    throw new UsageError(`--${flag}${err.message.slice(err.field.length)}`);
  }
  throw err;
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
  if (typeof values.weights === 'string') options.weights = values.weights as WeightsOption;
  const gpuLayers = integerFlag(values['gpu-layers'], 'gpu-layers', 0);
  const threads = integerFlag(values.threads, 'threads');
  const maxLength = integerFlag(values['max-length'], 'max-length');
  const kvStreams = integerFlag(values['kv-streams'], 'kv-streams', 0);
  const contexts = integerFlag(values.contexts, 'contexts');
  if (gpuLayers !== undefined) options.gpuLayers = gpuLayers;
  if (kvStreams !== undefined) options.kvStreams = kvStreams;
  if (contexts !== undefined) options.contexts = contexts;
  if (values['reuse-graphs'] === true) options.reuseGraphs = true;
  if (values['tokenize-first'] === true) options.tokenizeAhead = false;
  if (threads !== undefined) options.threads = threads;
  if (maxLength !== undefined) options.maxLength = maxLength;
  // The library's own checks, now rather than after a download or once a server is listening; the
  // model is checked where it is loaded, so this module's file stands in for it.
  try {
    validateLoadOptions({ ...options, model: fileURLToPath(import.meta.url) });
  } catch (err) {
    asUsageError(err);
  }
  return options;
}

/** The request fields that come from flags, checked as the library checks them. */
export function checkRequestFlags(fields: { query: string; instruction?: string }): void {
  try {
    validateRequest({ ...fields, documents: ['-'] });
  } catch (err) {
    asUsageError(err);
  }
}
