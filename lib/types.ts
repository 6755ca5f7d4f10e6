// The public types of llama-rerank, written once: the library, the tests and the server use them.

/** A document: its text, or an object carrying it (the hosted APIs accept both). */
export type RerankDocument = string | { text: string };

/** The hosted rerank API's request body, plus llama-rerank's own fields. */
export interface RerankRequest {
  /** The hosted API's model name; a Reranker ignores it (it is the model it was loaded with). */
  model?: string;
  query: string;
  documents: RerankDocument[];
  /** Keep the n most relevant results (absent: all). Larger than the list: all. */
  top_n?: number | null;
  /** The task instruction in the prompt; the official default when absent. */
  instruction?: string;
  /** Include each document's text in its result. */
  return_documents?: boolean;
  /** true (default): a pair over `maxLength` tokens loses tokens from its end; false: an error. */
  truncate?: boolean;
  /**
   * Chunking as the hosted APIs offer it: a document too long for one pair is scored in up to this
   * many overlapping windows (80 tokens of overlap), and its score is the best window's; usage
   * counts every window. Default 1: the official truncation.
   */
  max_chunks_per_doc?: number;
  /** Aborting rejects the call with an AbortError (code ABORTED) and drops its pairs from the queue. */
  signal?: AbortSignal;
}

export interface RerankResult {
  /** The document's position in the request. */
  index: number;
  /** p("yes"): how relevant the document is to the query, in [0, 1]. */
  relevance_score: number;
  document?: { text: string };
}

export interface RerankUsage {
  /** Every token evaluated for every pair (prompt, query and document). */
  prompt_tokens: number;
  completion_tokens: 0;
  total_tokens: number;
}

export interface RerankResponse {
  /** From most to least relevant; ties keep the request's order. */
  results: RerankResult[];
  usage: RerankUsage;
}

export type GpuOption = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';
export type WeightsOption = 'auto' | 'stored' | 'bf16' | 'f16';

export interface LoadOptions {
  /** A GGUF file of Qwen3-Reranker (either llama.cpp's rank conversion or a causal-LM one). */
  model: string;
  /** 'auto' (default): every layer on the best device present, the CPU when none. */
  gpu?: GpuOption;
  /** Layers to offload (default: all). */
  gpuLayers?: number;
  /** CPU threads (default: the hardware threads present). */
  threads?: number;
  /** The longest pair in tokens, prompt included (default 8192, the official max_length). */
  maxLength?: number;
  /**
   * Tokens per decode call (default 512 on the CPU, 2048 on a GPU; with kvStreams on a GPU 256 a
   * stream, from 2048 to 8192).
   */
  batchSize?: number;
  /** Flash attention: 'auto' (default), 'on' or 'off'. */
  flashAttention?: 'auto' | 'on' | 'off';
  /** KV cache storage: 'f16' (default) or 'f32'. */
  kvType?: 'f16' | 'f32';
  /** Decode the tokens all pairs of a request share once (default true). */
  sharePrefix?: boolean;
  /**
   * The same request gets the same scores to the last bit, whatever else is running: each request
   * is decoded alone in its batches. Default true on the CPU, false on a GPU, where pairs of
   * concurrent requests share decode calls (a score can then move by float rounding, see README).
   */
  reproducible?: boolean;
  /**
   * Run the model in its own child process (default false): a native crash there rejects that
   * process's requests with BACKEND_CRASHED and a new one loads the model for the next request.
   */
  isolate?: boolean;
  /**
   * The weights' type while decoding (README "Weights"): 'auto' (default) a Q8_0 file's weights
   * converted to BF16 at load, in memory, on Linux, when every layer goes to discrete CUDA GPUs and
   * they take at most half of their free memory and of the host's (cuBLAS on the tensor cores:
   * 0.69-0.83x the time on an H200), else as stored;
   * 'stored' as the file has them; 'bf16' / 'f16' a copy of the file in that type, made once by
   * llama.cpp's quantizer and kept in the model cache (faster on CPUs with AVX512-BF16; twice a
   * Q8_0 file's size).
   */
  weights?: WeightsOption;
  /**
   * KV cache layout: 0 (default) one cache the pairs of a decode call share, a request's prefix
   * decoded once; n > 0: a stream per pair, up to n at once, each pair's tokens attending over its
   * own cells only (less attention work on a GPU). Memory: n × (maxLength + batchSize / 2) cells.
   */
  kvStreams?: number;
  /**
   * llama.cpp contexts over the model, each with a KV cache of its own, that decode parts of a large
   * call at once: on a GPU one context's host work (building a decode call, launching its kernels)
   * then runs while another's kernels do. Memory: the KV cache n times. Default: up to 3 with every
   * layer on CUDA, as many as the GPU's free memory holds with 1 GiB to spare; else 1. On the CPU
   * the contexts share the threads.
   */
  contexts?: number;
  /**
   * Keep the full decode calls of a large request one shape (default false, not yet measured on a
   * GPU): llama.cpp then reuses the compute graph of the call before, and on CUDA replays it as a CUDA
   * graph instead of launching each kernel. The calls after the first are shorter by the longest pair
   * and the prefixes; requests under four calls, or whose longest pair and prefixes take more than a
   * quarter of a call, decode as without it (README "Reused graphs"). With the shared cache
   * (kvStreams 0) and one graph per call (a GPU's; the CPU's at up to 512 tokens) only.
   */
  reuseGraphs?: boolean;
  /**
   * Decode a large call's first documents, a decode call's worth per context, while its other
   * documents are tokenized, instead of tokenizing them all first. Default: on with every layer on
   * a GPU, where a large request would otherwise leave the GPU idle while its documents tokenize
   * (README "Tokenizing ahead"); off on the CPU, whose cores the decode uses. Packed requests
   * (reproducible: false) only.
   */
  tokenizeAhead?: boolean;
}

export interface ModelInfo {
  /** 'rank': llama.cpp's reranker conversion (classifier head); 'causal': a causal-LM conversion. */
  kind: 'rank' | 'causal';
  /** The backend holding the layers: 'CPU', 'CUDA', 'Vulkan', 'Metal'... */
  backend: string;
  devices: string[];
  description: string;
  tokenizer: {
    /** The vocabulary's pre-tokenizer, the GGUF's tokenizer.ggml.pre: "qwen2" for every Qwen3 model. */
    pre: string;
    /** Added tokens matched in text (<think>, <tool_call>...); control tokens (<|im_end|>) are not. */
    userDefined: string[];
  };
  parameters: number;
  sizeBytes: number;
  layers: number;
  gpuLayers: number;
  embeddingLength: number;
  trainContext: number;
  threads: number;
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  maxLength: number;
  maxSequences: number;
  flashAttention: string;
  kvType: string;
  /** Pairs of concurrent requests share decode calls (the load option reproducible: false). */
  pack: boolean;
  /** KV streams, one per pair decoded at once; 0: one unified cache (the load option kvStreams). */
  kvStreams: number;
  /** llama.cpp contexts decoding at once (the load option contexts). */
  contexts: number;
  /** The load option reuseGraphs, in effect (false where the cache layout or the graph per call rules it out). */
  reuseGraphs: boolean;
  /** The load option tokenizeAhead, in effect. */
  tokenizeAhead: boolean;
  /** Decoding with BF16 weights converted from the file at load, in memory (the load option weights: 'auto' on CUDA). */
  weightsConvertedAtLoad: boolean;
  /** Why weights: 'auto' loaded the file as stored after trying to convert it (also a process warning); absent otherwise. */
  weightsConversionError?: string;
  /** The KV caches' size in bytes, from contextSize, kvStreams, contexts, kvType and the model's shape. */
  kvCacheBytes: number;
  /** Its share on the CPU: the cells of the layers not offloaded to a GPU (all of them without one). */
  kvCacheCpuBytes: number;
}

export interface DeviceInfo {
  name: string;
  description: string;
  backend: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
  memoryFree: number;
  memoryTotal: number;
}

/** Observers of one rerank() call. */
export interface RerankHooks {
  /** Called once, when native code starts on the request (the end of its queue wait). */
  onStart?: () => void;
}

/** Running totals of one Reranker, for monitoring and benchmarks. */
export interface RerankStats {
  requests: number;
  pairs: number;
  /** Tokens of every pair, as usage.prompt_tokens counts them. */
  promptTokens: number;
  /** Tokens actually computed: fewer than promptTokens when pairs share their prefix. */
  computedTokens: number;
  /** llama_decode calls, and the wall time spent in them (ms; with several contexts, while any decodes). */
  decodeCalls: number;
  decodeMs: number;
  /**
   * Compute graphs llama.cpp took over from the one before instead of building them (see reuseGraphs):
   * one per micro-batch, so one per decode call on a GPU (and on the CPU up to 512 tokens a call).
   */
  graphsReused: number;
  /** Pairs decoded while the rest of their native call's documents were tokenized (see tokenizeAhead). */
  pairsAhead: number;
  /** Child processes started again after one died (isolate: true); 0 when not isolated. */
  restarts: number;
}
