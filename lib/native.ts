// The compiled addon and the shape of what crosses into it: one plain object per call.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { packageRoot } from '../models/paths.js';
import { BackendReport, chooseBackend, compiledInBackend, findBackendLibraries } from './backends.js';
import { RerankError } from './errors.js';
import type { DeviceInfo, ModelInfo } from './types.js';

export interface NativeLoadOptions {
  path: string;
  gpu: string;
  gpuLayers?: number;
  threads?: number;
  maxLength: number;
  batchSize: number;
  ubatchSize: number;
  maxSequences: number;
  flashAttention: string;
  kvType: string;
  /** Pairs of the groups of one score() call share decode calls (else each group is decoded alone). */
  pack: boolean;
  /** Keep the instruction head in the KV cache between calls, in 256 cells reserved for it (absent: true). */
  keepHead?: boolean;
  /** > 0: a KV stream per pair, this many (at most the batch size); 0 or absent: one unified cache. */
  kvStreams?: number;
  /** llama_contexts over the model, decoding parts of a call at once (absent: 1; 0: as many as native code chooses). */
  contexts?: number;
  /** Keep a call's full decode calls one shape, so llama.cpp reuses their compute graph (absent: false). */
  reuseGraphs?: boolean;
  /** With a GPU backend: load onto these devices only (those that passed the probe); absent: all of it. */
  devices?: string[];
  /** Memory this process may still use; a KV cache in host memory must fit it (absent: not checked). */
  hostMemoryBytes?: number;
  /**
   * 'stored' (absent) the file's weights; 'auto' a Q8_0 file's converted to BF16 at load, in memory,
   * when every layer goes to CUDA and they fit; 'bf16' converted whatever the backend (Linux only).
   */
  weights?: 'stored' | 'auto' | 'bf16';
  /** 'auto' (absent): decode a packed call's first pairs while the rest tokenize with every layer on a GPU; 'on'; 'off'. */
  tokenizeAhead?: 'auto' | 'on' | 'off';
}

/** One request's pairs: they share a query and so their prompt prefix. */
export interface NativeGroup {
  /** The request's number, for cancel(). */
  id: number;
  instruction: string;
  query: string;
  documents: string[];
  maxLength: number;
  truncate: boolean;
  sharePrefix: boolean;
  /** > 1: a document too long for one pair is scored in up to this many overlapping windows. */
  maxChunks: number;
  chunkOverlap: number;
  /** > 0: documents are scored from the first while their tokens stay within this (at least one). */
  tokenBudget: number;
}

export interface NativeGroupResult {
  /** Documents scored, from the first: fewer than sent when the token budget ran out. */
  completed: number;
  scores: Float64Array;
  pairTokens: number[];
  truncated: boolean[];
  /** Windows each document was scored in. */
  chunks: number[];
  computedTokens: number;
  error?: string;
  errorCode?: 'DOCUMENT_TOO_LONG' | 'QUERY_TOO_LONG' | 'TOKENIZE_FAILED' | 'DECODE_FAILED' | 'ABORTED';
  errorIndex?: number;
}

export interface NativeCallResult {
  groups: NativeGroupResult[];
  decodeCalls: number;
  /** Wall time inside llama_decode. */
  decodeMs: number;
  /** Compute graphs llama.cpp reused from the call before (one per micro-batch); absent from an older module. */
  graphsReused?: number;
  /** Pairs decoded while the rest of the call's documents tokenized. */
  pairsAhead?: number;
}

export interface NativeReranker {
  score(groups: NativeGroup[]): Promise<NativeCallResult>;
  /** Stops the group of this id at its next decode call (no-op when none runs). */
  cancel(id: number): void;
  /** With maxTokens: the first that many tokens, from only as much of the text as they need. */
  tokenize(text: string, parseSpecial: boolean, maxTokens?: number): Promise<Int32Array>;
  /** The text of the first maxTokens tokens; null when the text has no more than that. */
  truncate(text: string, maxTokens: number): Promise<string | null>;
  info(): ModelInfo;
  /** Frees the model; a running score() stops at its next decode call. */
  dispose(): void;
}

export interface NativeModule {
  /** Loads the CPU backend from libDir and the given backend libraries; first call only. */
  init(libDir: string, backendLibraries: string[]): { path: string; backend?: string; error?: string }[];
  loadModel(options: NativeLoadOptions): Promise<NativeReranker>;
  listDevices(): DeviceInfo[];
  probeDevice(name: string): string;
  /** Writes src's weights as type (F32, F16, BF16, Q8_0, Q4_K) to dst, with llama.cpp's quantizer. */
  quantizeModel(src: string, dst: string, type: string): Promise<void>;
  /** The GGUF header's general.file_type (llama.h's llama_ftype: 1 F16, 32 BF16...), -1 when absent. */
  modelFileType(path: string): number;
  /** llama.cpp's system info: each registered backend's features ("CPU : AVX2 = 1 | ..."). */
  systemInfo(): string;
  /** Bytes handed to the tokenizer so far in this process (tests see the work is bounded). */
  tokenizedBytes(): number;
  /** Whether ggml's backends are loadable libraries (false: compiled in). */
  backendDl: boolean;
  llamaCppRelease: string;
}

interface Loaded {
  module: NativeModule;
  path: string;
  /** A static build's is read from its devices when first asked for (listing them wakes each GPU). */
  backends?: BackendReport;
}
let loaded: Loaded | undefined;

/** The addon of this platform's prebuilt package, else this package's prebuild or source build. */
export function addonPath(): string {
  const require = createRequire(import.meta.url);
  const gypBuild = require('node-gyp-build') as { path(dir: string): string };
  const roots = [packageRoot];
  try {
    roots.unshift(dirname(require.resolve(`@llama-rerank/${process.platform}-${process.arch}/package.json`)));
  } catch {
    // no prebuilt platform package: a prebuild in this package or a source build
  }
  const errors: string[] = [];
  for (const root of roots) {
    try {
      return gypBuild.path(root);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  throw new Error(errors.join('; '));
}

function load(): Loaded {
  if (!loaded) {
    let path: string;
    let module: NativeModule;
    try {
      path = addonPath();
      module = createRequire(import.meta.url)(path) as NativeModule;
    } catch (err) {
      throw new RerankError('NATIVE_UNAVAILABLE',
        `the llama-rerank addon could not be loaded (${(err as Error).message}); no prebuilt package matched this ` +
        'platform: build it from source with `node node_modules/llama-rerank/scripts/build-native.mjs` ' +
        '(needs a C++ compiler, CMake and git; add `--backend cuda|vulkan|metal` for a GPU)');
    }
    const dir = dirname(path);
    const backends = module.backendDl ? chooseBackend(findBackendLibraries(dir), path) : undefined;
    module.init(dir, backends?.libraries.filter((l) => l.ok).map((l) => l.path) ?? []);
    loaded = { module, path, backends };
  }
  return loaded;
}

export function nativeModule(): NativeModule {
  return load().module;
}

/** The backend models load onto when their gpu option is 'auto', and how it was chosen. */
export function backendReport(): BackendReport & { addon: string } {
  const it = load();
  it.backends ??= compiledInBackend(it.module.listDevices(), it.path);
  return { ...it.backends, addon: it.path };
}

