// Other settings llama-rerank runs under in the same bench, each its own labelled engine on one
// workload (G100 on a GPU): llama.cpp's environment knobs and load options, to see where the time
// goes before changing code. Environment variables are read once by ggml, so each configuration is
// its own child process.
import type { LoadOptions } from '../lib/index.js';

export interface Config {
  /** Set in the engine's process before llama.cpp loads. */
  env?: Record<string, string>;
  /**
   * A CUDA library built with other CMake options (bench/gpu/README.md), in place of the one in use:
   * the environment variable that holds its path, and how it is built.
   */
  library?: { variable: string; built: string };
  load?: Pick<LoadOptions, 'batchSize' | 'flashAttention' | 'sharePrefix' | 'kvType' | 'weights' | 'kvStreams' | 'contexts' | 'reuseGraphs' | 'tokenizeAhead' | 'threads'>;
  what: string;
}

const LEGACY_POOL = { variable: 'LLAMA_RERANK_LEGACY_POOL_LIBRARY', built: 'GGML_CUDA_NO_VMM=ON' };
const FORCE_CUBLAS = { variable: 'LLAMA_RERANK_CUBLAS_LIBRARY', built: 'GGML_CUDA_FORCE_CUBLAS=ON' };

export const CONFIGS = {
  'graphs-off': { env: { GGML_CUDA_DISABLE_GRAPHS: '1' }, what: 'CUDA graphs off (ggml-cuda captures a graph once a shape repeats)' },
  'graph-opt': { env: { GGML_CUDA_GRAPH_OPT: '1' }, what: "ggml-cuda's graph optimization (concurrent streams) on" },
  'fusion-off': { env: { GGML_CUDA_DISABLE_FUSION: '1' }, what: "ggml-cuda's kernel fusion off" },
  'pdl-off': { env: { GGML_CUDA_PDL: '0' }, what: 'programmatic dependent launch off (Hopper)' },
  'fa-off': { load: { flashAttention: 'off' }, what: 'flash attention off' },
  'no-share': { load: { sharePrefix: false }, what: 'shared prefix off: every pair decodes its instruction and query' },
  'kv-f32': { load: { kvType: 'f32' }, what: 'F32 KV cache' },
  // On CUDA, Q8_0 weights go through ggml's own int8 kernels (MMQ); F16 and BF16 ones through cuBLAS
  // on the tensor cores: the matrix products of issue 9's candidate list.
  // The load option itself: its copy is made in the model cache on the first run. Since weights:
  // 'auto' (the default) converts a Q8_0 file to BF16 at load with every layer on CUDA, weights-bf16
  // is the default there, and weights-stored the Q8_0 weights of before.
  'weights-stored': { load: { weights: 'stored' }, what: "the file's own weights (Q8_0: ggml's int8 kernels on CUDA), not converted at load" },
  'weights-bf16': { load: { weights: 'bf16' }, what: 'BF16 weights (the weights option: cuBLAS matrix products on CUDA)' },
  'weights-f16': { load: { weights: 'f16' }, what: 'F16 weights (the weights option: cuBLAS matrix products on CUDA)' },
  // A KV stream per pair: attention over each pair's own cells, not the whole batch's (README "KV streams").
  // Larger calls then no longer lengthen every token's attention span, hence the 8192 one.
  streams: { load: { kvStreams: 16 }, what: 'a KV stream per pair, 16 at once (kvStreams: 16; 4096-token calls, its default)' },
  'streams-batch2048': { load: { kvStreams: 16, batchSize: 2048 }, what: 'a KV stream per pair, 16 at once, 2048-token calls (as before streams had 256 tokens a stream)' },
  'streams-batch8192': { load: { kvStreams: 24, batchSize: 8192 }, what: 'a KV stream per pair, 24 at once, 8192-token decode calls (one graph each)' },
  // The two that paid most in the first full GPU run (2026-11-29), together.
  'bf16-streams-batch8192': { load: { weights: 'bf16', kvStreams: 24, batchSize: 8192 }, what: 'BF16 weights and a KV stream per pair, 24 at once, 8192-token calls' },
  // Two contexts decoding parts of a call at once (README "Contexts"): one's host work while the
  // other's kernels run, against the profile's ~half of each decode call with the GPU idle.
  // On CUDA up to 3 by default (native/reranker.h kAutoContexts); contexts-1 is the one of before.
  'contexts-1': { load: { contexts: 1 }, what: 'one context (contexts: 1)' },
  'contexts-2': { load: { contexts: 2 }, what: 'two contexts decoding parts of a call at once (contexts: 2)' },
  'contexts-3': { load: { contexts: 3 }, what: 'three contexts decoding parts of a call at once (contexts: 3)' },
  'contexts-4': { load: { contexts: 4 }, what: 'four contexts decoding parts of a call at once (contexts: 4)' },
  'bf16-contexts-2': { load: { weights: 'bf16', contexts: 2 }, what: 'BF16 weights and two contexts' },
  'bf16-contexts-3': { load: { weights: 'bf16', contexts: 3 }, what: 'BF16 weights and three contexts' },
  'bf16-contexts-4': { load: { weights: 'bf16', contexts: 4 }, what: 'BF16 weights and four contexts' },
  // Full decode calls of one shape (native/call_shape.h), so that llama.cpp reuses the graph of the
  // call before and ggml-cuda replays it as a CUDA graph: against graphs-off's 0.93× (one context, the
  // first run), the graphs captured then being used once each. One context is where the host's share
  // of a call shows most; with three, the others' kernels hide part of it.
  'reuse-graphs': { load: { reuseGraphs: true }, what: 'decode calls of one shape, their graph reused (reuseGraphs)' },
  // On by default with every layer on a GPU: this is the time before.
  'tokenize-first': { load: { tokenizeAhead: false }, what: 'every document tokenized before the first decode call (tokenizeAhead: false)' },
  // The host's threads (the load option threads, the host's cores by default): on a GPU they tokenize
  // (up to 16 a call; two calls of concurrent requests tokenize side by side) while the contexts' own
  // threads prepare and launch the decode calls on the same cores.
  'threads-8': { load: { threads: 8 }, what: '8 host threads (threads: 8): at most 8 tokenizing a call' },
  'threads-4': { load: { threads: 4 }, what: '4 host threads (threads: 4): at most 4 tokenizing a call' },
  'reuse-graphs-contexts-1': { load: { reuseGraphs: true, contexts: 1 }, what: 'decode calls of one shape on one context' },
  'bf16-reuse-graphs': { load: { weights: 'bf16', reuseGraphs: true }, what: 'BF16 weights, decode calls of one shape' },
  // The CUDA library built with GGML_CUDA_NO_VMM=ON (bench/gpu/README.md) in place of the one in use:
  // ggml's legacy scratch pool, which calls cudaMalloc whenever a kernel needs a larger buffer than the
  // pool holds, against the VMM pool of a build linked with the driver (the prebuilt packages'). Issue 9's
  // first figures most likely came from such a build (the workplace's recipe could link no other).
  'pool-legacy': {
    library: LEGACY_POOL,
    what: "CUDA library built with GGML_CUDA_NO_VMM (ggml's legacy memory pool, cudaMalloc as buffers grow)",
  },
  // The CUDA library built with GGML_CUDA_FORCE_CUBLAS=ON: quantized weights are dequantized on the
  // GPU for each matrix product of more than 8 tokens and multiplied by cuBLAS on the tensor cores,
  // as the BF16 copy's are, without a copy on disk or in GPU memory (a scratch buffer of one weight
  // matrix at a time). ggml picks the type it dequantizes to: F16 with F16 sums for quantized weights
  // on GPUs with fast F16 (ggml-cuda.cu, ggml_cuda_mul_mat_cublas), unless GGML_CUDA_CUBLAS_COMPUTE_TYPE
  // says otherwise; BF16 keeps F32 sums, as the BF16 copy's products.
  cublas: {
    library: FORCE_CUBLAS,
    load: { weights: 'stored' }, // the Q8_0 weights, which this library dequantizes per product
    what: 'CUDA library built with GGML_CUDA_FORCE_CUBLAS: Q8_0 weights dequantized to F16 per product, cuBLAS with F16 sums',
  },
  'cublas-bf16': {
    library: FORCE_CUBLAS,
    load: { weights: 'stored' }, // the Q8_0 weights, which this library dequantizes per product
    env: { GGML_CUDA_CUBLAS_COMPUTE_TYPE: 'bf16' },
    what: 'CUDA library built with GGML_CUDA_FORCE_CUBLAS, GGML_CUDA_CUBLAS_COMPUTE_TYPE=bf16: Q8_0 weights dequantized to BF16 per product, F32 sums',
  },
  'cublas-f32': {
    library: FORCE_CUBLAS,
    load: { weights: 'stored' }, // the Q8_0 weights, which this library dequantizes per product
    env: { GGML_CUDA_CUBLAS_COMPUTE_TYPE: 'f32' },
    what: 'CUDA library built with GGML_CUDA_FORCE_CUBLAS, GGML_CUDA_CUBLAS_COMPUTE_TYPE=f32: Q8_0 weights dequantized to F32 per product',
  },
  batch1024: { load: { batchSize: 1024 }, what: '1024-token decode calls (default 2048 on a GPU, one graph each)' },
  // With several contexts the host's share of a call overlaps: smaller calls may now pay (less
  // attention over other pairs' masked cells).
  'bf16-batch1024': { load: { weights: 'bf16', batchSize: 1024 }, what: 'BF16 weights and 1024-token decode calls' },
  batch4096: { load: { batchSize: 4096 }, what: '4096-token decode calls (2048 per graph)' },
  batch8192: { load: { batchSize: 8192 }, what: '8192-token decode calls (2048 per graph)' },
} satisfies Record<string, Config>;

export type ConfigName = keyof typeof CONFIGS;

/** What a configuration sets in its engine's environment: its variables and the library it names. */
export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = { ...config.env };
  if (config.library) env.LLAMA_RERANK_BACKEND_PATH = process.env[config.library.variable] ?? '';
  return env;
}

/** Why the configurations named cannot run here (a library's path not set), or undefined. */
export function missingLibrary(names: readonly ConfigName[]): string | undefined {
  for (const name of names) {
    const library = (CONFIGS[name] as Config).library;
    if (library && !process.env[library.variable]) {
      return `--configs ${name} needs ${library.variable}, the path of a libggml-cuda.so built with ${library.built} (bench/gpu/README.md)`;
    }
  }
  return undefined;
}

export const configLabel = (name: string) => `llama-rerank [${name}]`;
