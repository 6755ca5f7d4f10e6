// Loads a model into this process's addon: the Reranker does it in-process, the child process of
// an isolated Reranker (lib/isolate/) does it there, with the same options.
import { availableParallelism, freemem } from 'node:os';
import { RerankError } from './errors.js';
import { passingDevices } from './backends.js';
import { NativeReranker, backendReport, nativeModule } from './native.js';
import type { ValidLoadOptions } from './validate.js';
import { modelWithWeights } from './weight-copy.js';

const CPU_BATCH = 512;
// Measured on an H200 (issue 9, G100: 100 pairs of ~340 tokens): 2048/2048 took 508 ms against
// 665 ms for 4096/1024, 653 ms for 1024/1024 and 678 ms for 8192/8192.
const GPU_BATCH = 2048;
const GPU_UBATCH = 2048;

/**
 * Tokens per decode call by default. With KV streams on a GPU, 256 a stream (a call's wave holds a
 * pair of up to 256 tokens on each), from 2048 to 8192: a stream's tokens attend over its own cells
 * only, so a larger call does not lengthen their attention as it does on the shared cache (the
 * measure above), and fewer calls carry the same pairs (README "KV streams": G100 on 16 streams in
 * 9 calls of 4096 tokens against 15 of 2048).
 */
export function defaultBatchSize(onGpu: boolean, kvStreams: number): number {
  if (!onGpu) return CPU_BATCH;
  return kvStreams > 0 ? Math.min(8192, Math.max(GPU_BATCH, 256 * kvStreams)) : GPU_BATCH;
}

/**
 * The memory a KV cache in host memory must fit (native/kv_memory.h), where a cache that does not
 * would end the process: Linux lets llama.cpp allocate it, and its OOM killer ends the process as
 * llama.cpp writes it. availableMemory counts a container's limit (Node 20.13+). Windows commits
 * memory when it is allocated, so a cache that does not fit fails the load by itself; macOS's free
 * memory figure leaves out the cached and compressible pages it can give, far below what fits.
 */
function hostMemoryToCheck(): number | undefined {
  return process.platform === 'linux' ? (process.availableMemory?.() ?? freemem()) : undefined;
}

/** Rejects with RerankError (MODEL_LOAD_FAILED, NATIVE_UNAVAILABLE). */
export async function loadNative(valid: ValidLoadOptions): Promise<NativeReranker> {
  const addon = nativeModule();
  // 'auto' means the backend chosen for this process (lib/backends.ts)
  const gpu = valid.gpu === 'auto' ? backendReport().selected : valid.gpu;
  // Only the devices that passed the probe (a backend's other devices may be the broken ones), and
  // of those the discrete GPUs (lib/backends.ts modelDevices); a static build's, unprobed, likewise.
  const devices = gpu !== 'cpu' ? passingDevices(backendReport(), gpu) : undefined;
  const onGpu = gpu !== 'cpu' && valid.gpuLayers !== 0;
  // A CPU gains nothing from larger batches (measured: bench/); a GPU needs them to be busy.
  const batchSize = valid.batchSize ?? defaultBatchSize(onGpu, valid.kvStreams);
  const path = await modelWithWeights(valid.model, valid.weights);
  try {
    return await addon.loadModel({
      path,
      gpu,
      gpuLayers: valid.gpuLayers,
      threads: valid.threads ?? availableParallelism(),
      maxLength: valid.maxLength,
      batchSize,
      // (KV streams decode a call as one graph whatever this is: native/reranker.cpp)
      ubatchSize: Math.min(batchSize, onGpu ? GPU_UBATCH : CPU_BATCH),
      maxSequences: 64,
      flashAttention: valid.flashAttention,
      kvType: valid.kvType,
      // A GPU is busy only with full batches, so concurrent requests share them there; a CPU
      // gains little from it and keeps every request's scores independent of the others.
      pack: !(valid.reproducible ?? !onGpu),
      // no request shares its prefix, so no head would be kept: its cells are not reserved
      keepHead: valid.sharePrefix,
      kvStreams: valid.kvStreams,
      // 0: native code chooses (several with every layer on CUDA, as memory allows; else one)
      contexts: valid.contexts ?? 0,
      reuseGraphs: valid.reuseGraphs,
      devices,
      hostMemoryBytes: hostMemoryToCheck(),
      // a copy made for 'bf16' or 'f16' is loaded as stored
      weights: valid.weights === 'auto' ? 'auto' : 'stored',
      tokenizeAhead: valid.tokenizeAhead === undefined ? 'auto' : valid.tokenizeAhead ? 'on' : 'off',
    });
  } catch (err) {
    throw new RerankError('MODEL_LOAD_FAILED', (err as Error).message, 'model');
  }
}
