// Loads a model into this process's addon: the Reranker does it in-process, the child process of
// an isolated Reranker (lib/isolate/) does it there, with the same options.
import { availableParallelism } from 'node:os';
import { RerankError } from './errors.js';
import { NativeReranker, backendReport, nativeModule } from './native.js';
import type { ValidLoadOptions } from './validate.js';

const CPU_BATCH = 512;
const GPU_BATCH = 4096;
const GPU_UBATCH = 1024;

/** Rejects with RerankError (MODEL_LOAD_FAILED, NATIVE_UNAVAILABLE). */
export async function loadNative(valid: ValidLoadOptions): Promise<NativeReranker> {
  const addon = nativeModule();
  // 'auto' means the backend chosen for this process (lib/backends.ts); static builds choose themselves
  const gpu = valid.gpu === 'auto' && addon.backendDl ? backendReport().selected : valid.gpu;
  const onGpu = gpu !== 'cpu' && valid.gpuLayers !== 0;
  // A CPU gains nothing from larger batches (measured: bench/); a GPU needs them to be busy.
  const batchSize = valid.batchSize ?? (onGpu ? GPU_BATCH : CPU_BATCH);
  try {
    return await addon.loadModel({
      path: valid.model,
      gpu,
      gpuLayers: valid.gpuLayers,
      threads: valid.threads ?? availableParallelism(),
      maxLength: valid.maxLength,
      batchSize,
      ubatchSize: Math.min(batchSize, onGpu ? GPU_UBATCH : CPU_BATCH),
      maxSequences: 64,
      flashAttention: valid.flashAttention,
      kvType: valid.kvType,
    });
  } catch (err) {
    throw new RerankError('MODEL_LOAD_FAILED', (err as Error).message, 'model');
  }
}
